// The `otp` module on Moddable builds (docs: /work/brief/OTP.md contract, firmware/storage/otp.ts `Otp`): one-time-
// programmable bits the chip lends solkey. `new OTP()`; `size` bits; `read(i)`; `set(i)` programs bit i for good.
// This file is the same on every chip; the C behind the three host functions is per chip (manifest.json platforms):
// esp32/otp_esp32.c (eFuse BLK3), nrf52/otp_nrf52.c (UICR CUSTOMER words); the lin build maps `otp` to the simulator's.
// Plain JavaScript because XS host functions (`@ "xs_..."`) cannot be written in TypeScript.

function _size() @ "xs_solkey_otp_size";
function _read(index) @ "xs_solkey_otp_read";
function _program(index) @ "xs_solkey_otp_program";

export default class OTP {
  #size = _size();

  /** How many bits solkey may use on this chip (0: none; docs/HARDENING.md says what each chip lends and why). */
  get size() {
    return this.#size;
  }

  /** Bit `index` as read now: true once programmed. */
  read(index) {
    this.#check(index);
    return _read(index);
  }

  /** Programs bit `index` (irreversible); nothing when it already reads programmed. Throws Error on a refusal or a
      read-back that disagrees (a cut or weak write: the caller decides, the bit may read either way later). */
  set(index) {
    this.#check(index);
    if (_read(index)) return;
    _program(index);
    if (!_read(index)) throw new Error(`otp: bit ${index} reads unprogrammed after programming`);
  }

  #check(index) {
    if (typeof index !== "number" || !Number.isInteger(index))
      throw new TypeError(`"index" expected an integer, got ${typeof index}`);
    if (index < 0 || index >= this.#size) throw new RangeError(`"index" expected 0-${this.#size - 1}, got ${index}`);
  }
}
