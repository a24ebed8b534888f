// Journal v2 against the flash attacker (issue 12) and the credit clock's tally (issue 21), on the real journal.
import { NRF52, ESP32 } from "../firmware/storage/flash";
import { encodeRecordV1, Journal, journalKey, MAGIC, packedBytes } from "../firmware/storage/journal";
import { NorSim, PowerCut, TEARS } from "../hosts/node/nor";
import { OtpSim } from "../hosts/node/otp";

const KEY = journalKey(Uint8Array.from({ length: 16 }, (_, i) => 3 * i));
const state = (n: number) => Uint8Array.from({ length: 48 }, (_, i) => (n + i) & 0xff);

function device(otpSize = 33, chip = NRF52, blocks = 2) {
  const flash = new NorSim({ chip, blocks });
  const otp = new OtpSim(otpSize, 1, flash);
  const options = { key: KEY, otp };
  let journal = Journal.format(flash, state(0), options);
  journal.setMark();
  journal = Journal.mount(flash, options);
  return { flash, otp, options, journal };
}

describe("journal v2 layout", () => {
  it("packs 31 bits per word with the top bit set: no record word reads 0x00000000", () => {
    const { flash } = device();
    const bytes = flash.image.bytes;
    expect(bytes[0]).toBe(MAGIC);
    expect(bytes[1]).toBe(2);
    const size = packedBytes(48);
    for (let at = 3; at < size; at += 4) expect(bytes[at] & 0x80).toBe(0x80);
    expect(bytes.slice(size).every((b) => b === 0xff)).toBe(true);
  });
});

describe("issue 12: the flash attacker", () => {
  it("an erased journal on a marked device mounts corrupt (locked), never fresh", () => {
    const { flash, options } = device();
    for (let b = 0; b < 2; b++) flash.eraseBlock(b);
    expect(Journal.mount(flash, options).mounted.kind).toBe("corrupt");
  });

  it("an erased journal on an unmarked chip is still fresh (a factory device)", () => {
    const flash = new NorSim({ chip: NRF52, blocks: 2 });
    expect(Journal.mount(flash, { key: KEY, otp: new OtpSim(33) }).mounted.kind).toBe("fresh");
  });

  it("a record forged without the journal key does not mount", () => {
    const { flash, options } = device();
    for (let b = 0; b < 2; b++) flash.eraseBlock(b);
    const forger = { key: journalKey(new Uint8Array(16).fill(9)), otp: new OtpSim(33) };
    Journal.format(flash, state(99), forger);
    expect(Journal.mount(flash, options).mounted.kind).toBe("corrupt");
  });

  it("a v1 record written onto a marked device does not mount (v1 is read only before the mark)", () => {
    const { flash, options } = device();
    for (let b = 0; b < 2; b++) flash.eraseBlock(b);
    flash.write(encodeRecordV1(state(7), 50, 4), 0);
    expect(Journal.mount(flash, options).mounted.kind).toBe("corrupt");
  });

  it("restoring an image from before an anchor step mounts corrupt; within the step it mounts", () => {
    // 33 OTP bits: 32 anchor bits, a step every ceil(2 * 5,259,600 / 32) minutes of load.
    const { flash, otp, options } = device();
    let journal = Journal.mount(flash, options);
    const old = flash.image.bytes.slice();
    const stepMinutes = Math.ceil((2 * 5_259_600) / 32);
    for (let m = 0; m < stepMinutes + 1; m++) journal.tick();
    expect(otp.read(1)).toBe(true);
    const afterStep = flash.image.bytes.slice();
    journal.tick();
    // Within the step: an image taken after the step mounts (what it gains is bounded by one step).
    flash.image.bytes.set(afterStep);
    expect(Journal.mount(flash, options).mounted.kind).toBe("record");
    // From before the step: refused.
    flash.image.bytes.set(old);
    journal = Journal.mount(flash, options);
    expect(journal.mounted.kind).toBe("corrupt");
  });
});

describe("issue 21: the tally", () => {
  it("counts charged minutes across a remount, skipping one word after a mount", () => {
    const { flash, options, journal } = device();
    for (let m = 0; m < 5; m++) journal.tick();
    let again = Journal.mount(flash, options);
    expect(again.mounted).toMatchObject({ kind: "record", minutes: 5 });
    again.tick();
    again = Journal.mount(flash, options);
    expect(again.mounted).toMatchObject({ kind: "record", minutes: 6 });
    expect(again.shortSessions).toBe(1);
  });

  it("rolls over to a record carrying the minutes when the block is full", () => {
    const { flash, options, journal } = device(0);
    const n = 1500; // more words than one 4 KB block holds
    for (let m = 0; m < n; m++) journal.tick();
    expect(Journal.mount(flash, options).mounted).toMatchObject({ kind: "record", minutes: n });
  });

  it.each(["esp32", "nrf52"] as const)(
    "%s: a cut at every write of ticks and appends, with every tear, mounts the state before or after",
    (board) => {
      const chip = board === "esp32" ? ESP32 : NRF52;
      const blocks = board === "esp32" ? 4 : 2;
      for (const tear of TEARS) {
        for (let cut = 1; cut <= 140; cut++) {
          const { flash, otp, options } = device(5, chip, blocks);
          let journal = Journal.mount(flash, options);
          let before = { payload: state(0), minutes: 0 };
          let after = before;
          flash.cut(cut, tear);
          try {
            for (let op = 0; op < 120; op++) {
              if (op % 7 === 3) {
                after = { payload: state(op), minutes: 0 };
                journal.append(state(op), { codes: 1, minutes: 0 });
              } else {
                after = { payload: before.payload, minutes: before.minutes + 1 };
                journal.tick();
              }
              before = after;
            }
          } catch (e) {
            if (!(e instanceof PowerCut)) throw e;
          }
          flash.powerOn();
          journal = Journal.mount(flash, options);
          const m = journal.mounted;
          if (m.kind !== "record") throw new Error(`tear=${tear} cut=${cut}: mounted ${m.kind}`);
          const got = { payload: Array.from(m.payload), minutes: m.minutes };
          const ok = [before, after].some(
            (s) => s.minutes === got.minutes && Array.from(s.payload).join() === got.payload.join(),
          );
          if (!ok) throw new Error(`tear=${tear} cut=${cut}: neither before nor after (${got.minutes} min)`);
          journal.tick(); // and it goes on
          expect(otp.size).toBe(5);
        }
      }
    },
  );
});
