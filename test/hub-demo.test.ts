// `solkey hub --demo` as a newcomer runs it: the printed curl line posts a payment, the code's SMS appears on the
// hub's output (log driver), the printed console key signs in, and SIGTERM removes the throwaway fleet.
import { spawn } from "child_process";
import fs from "fs";
import path from "path";

it("turns the printed curl line's payment into a printed SMS, then removes its fleet", async () => {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, "..", "bin", "solkey.js"), "hub", "--demo", "--port", "0"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c));
  child.stderr.on("data", (c: Buffer) => (err += c));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    for (let i = 0; i < 300 && !/fr:\ncurl .*\n/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
    const curl = /curl -s (\S+) -H 'content-type: application\/json' -d '(.*)'/.exec(err);
    expect(curl).not.toBeNull();
    const r = await fetch(curl![1], {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: curl![2],
    });
    expect(await r.json()).toEqual({ ResultCode: 0, ResultDesc: "Accepted" });
    for (let i = 0; i < 100 && !out.includes("SMS to"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/SMS to \+254700000000 .*: Solar code: \*[\d ]+# = 3 days\./);
    // The printed console address and key sign in: the API answers the key with the demo's devices.
    const signIn = /watch it at (http:\S+\/)console\/ \(sign in with (sk_[0-9a-f]{64})\)/.exec(err);
    expect(signIn).not.toBeNull();
    const devices = await fetch(`${signIn![1]}api/v1/devices`, { headers: { authorization: `Bearer ${signIn![2]}` } });
    expect(((await devices.json()) as { devices: unknown[] }).devices).toHaveLength(3);
    expect((await fetch(`${signIn![1]}console/`)).status).toBe(200);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
  const dir = /throwaway fleet in (\S+)fleet\.db/.exec(err)![1];
  expect(fs.existsSync(dir)).toBe(false);
}, 60_000);
