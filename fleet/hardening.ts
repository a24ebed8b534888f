// The production hardening steps for a batch, per board: the text `solkey provision` writes as HARDENING.txt beside a
// batch's images. docs/HARDENING.md explains each step (what it protects, which chip revisions, what is left).
import type { BoardName } from "../firmware/provision/board";
import { BOARDS } from "../firmware/provision/board";
import { anchorStep } from "../firmware/storage/journal";
import { CHIP_OTP_BITS } from "../hosts/node/otp";
import { JOURNAL_AREAS } from "./journal";

/** The file `solkey provision` writes into --out. */
export const HARDENING_FILE = "HARDENING.txt";

const hex = (n: number) => `0x${n.toString(16)}`;

/** The numbered steps a factory follows for every device of a batch for `board`, as plain text. */
export function hardeningSteps(board: BoardName): string {
  const prov = hex(BOARDS[board].provisionOffset);
  const jrnl = hex(JOURNAL_AREAS[board].offset);
  const steps = board === "esp32" ? _esp32(prov, jrnl) : _nrf52(prov, jrnl);
  return (
    `solkey production hardening, ${board} (docs/HARDENING.md explains each step)\n` +
    `Without these steps anyone with a USB-serial cable or an SWD probe can read the device key and write the\n` +
    `journal: the record MAC stops forgery only while the provisioning record stays confidential.\n\n` +
    steps.map((step, i) => `${i + 1}. ${step}\n`).join("") +
    `\nCheck one device of every batch: the readout and reflash attempts in the last step must fail.\n`
  );
}

function _esp32(prov: string, jrnl: string): string[] {
  const step = anchorStep(CHIP_OTP_BITS.esp32 - 1); // the mark takes one bit
  const bound = `${(step.minutes / 1440).toFixed(0)} days or ${step.codes.toLocaleString("en-US")} codes`;
  return [
    "Chips: ESP32 revision v3.0 (ECO3) or later (espefuse.py summary shows it): Secure Boot V2 needs it. " +
      "Earlier revisions have only Secure Boot V1 and published fault-injection attacks on it; do not ship them.",
    "Build once per product release with the production manifest: " +
      "mcconfig -m -p esp32 hosts/moddable/esp32/production/manifest.json (release build: Secure Boot V2, flash " +
      "encryption in release mode, anti-rollback with CONFIG_BOOTLOADER_APP_SECURE_VERSION raised each release). " +
      "Sign with the RSA-3072 key kept off the factory floor (espsecure.py sign_data --version 2).",
    `Flash each device in one session, all in plaintext: bootloader, partition table, app (ota_0), then its ` +
      `provisioning record at ${prov} (<serial>.bin) and its journal at ${jrnl} (<serial>.journal.bin).`,
    "First boot (keep power on until the app starts): the bootloader burns the flash key into eFuse BLK1 " +
      "(read-protected), encrypts bootloader, app and the partitions flagged 'encrypted' (solkey_prov, nvs_keys) " +
      "in place, enables Secure Boot V2 and, in release mode, disables UART download decryption and JTAG. " +
      "The journal partition solkey_jrnl stays unencrypted by design: the MAC stops forged records and the OTP " +
      `anchor bounds one restored image to one anchor step (${bound}), but an image written back ` +
      "before every step repeats that gain; keep the board sealed (docs/SECURITY.md, repeated restores).",
    "Verify: espefuse.py summary shows FLASH_CRYPT_CNT odd and write-protected, ABS_DONE_1 = 1, JTAG_DISABLE = 1, " +
      `SECURE_VERSION = the release's; esptool.py read_flash ${prov} 0x1000 returns ciphertext, not the record; ` +
      "an unsigned or older-secure_version image written with esptool.py does not boot.",
  ];
}

function _nrf52(prov: string, jrnl: string): string[] {
  return [
    "Chips: nRF52840 revision 3 or later (build code Fxx, e.g. QIAAF0, on the package): its APPROTECT cannot be " +
      "reopened by the published voltage-glitch attack on revisions 1 and 2 (build codes Axx-Exx); do not ship those.",
    "Bootloader: Nordic's secure DFU bootloader (nRF5 SDK 17.0.2 examples/dfu/secure_bootloader) with the batch's " +
      "ECDSA P-256 public key, NRF_DFU_APP_DOWNGRADE_PREVENTION 1 and each release's --application-version higher " +
      "(nrfutil pkg generate). Not the UF2 bootloader of development boards: it serves the whole flash back as " +
      "CURRENT.UF2 and takes unsigned images.",
    `Program each device: bootloader + settings page + signed app, then its provisioning and journal pages ` +
      `(<serial>.hex: ${jrnl} and ${prov}) with nrfjprog --program --sectorerase --verify.`,
    "Lock debug access last: nrfjprog --memwr 0x10001208 --val 0xFFFFFF00 (UICR.APPROTECT enabled), then reset; " +
      "build the firmware with ENABLE_APPROTECT defined so that SystemInit never writes APPROTECT.DISABLE.",
    "Verify: nrfjprog --readcode fails (access port protected); an unsigned or lower-version DFU package is " +
      "refused; nrfjprog --recover erases the whole chip including the key (the only way back).",
  ];
}
