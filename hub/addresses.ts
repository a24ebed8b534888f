// Who may call a provider's callback: an allow-list of addresses and CIDR blocks, checked against the client address
// fastify derives (X-Forwarded-For believed only from the configured proxies: the `trustProxy` option in app.ts).
import { BlockList, isIP } from "net";

export interface AddressList {
  /** True when the list is empty (anyone) or holds `ip`. */
  allows(ip: string): boolean;
}

export function addressList(entries: readonly string[]): AddressList {
  if (entries.length === 0) return { allows: () => true };
  const list = new BlockList();
  for (const entry of entries) {
    const [ip, bits] = entry.split("/");
    const type = isIP(ip) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return {
    allows(ip: string): boolean {
      // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
      const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
      if (v4 !== undefined) return list.check(v4, "ipv4");
      return isIP(ip) !== 0 && list.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4");
    },
  };
}
