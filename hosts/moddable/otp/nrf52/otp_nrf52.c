/* The `otp` host functions on the nRF52840: solkey's bits in UICR CUSTOMER[16..31] (0x100010C0-0x100010FF), written
   through the NVMC. Flash bits program from 1 to 0, so a programmed bit reads 0. The nRF52840 product specification
   allows each 32-bit word to be written at most twice (n_WRITE = 2) between erases, and solkey never erases UICR
   (ERASEUICR or ERASEALL would also clear the APPROTECT setting and the bootloader address). So each word carries
   two bits, written one per write: solkey bit i is bit (i % 2) of word 16 + i / 2; 16 words, 32 bits. CUSTOMER[0..15]
   stay free for the product.
   The NVMC must not be driven directly while the SoftDevice (Nordic's radio stack) is enabled: it owns the flash
   controller then, and sd_flash_write cannot reach UICR. Programming refuses with an Error while it runs; a product
   with BLE advances the anchor before starting BLE or after stopping it (docs/HARDENING.md). */
#include "xsmc.h"

#include "nrf.h"
#include "nrf_sdh.h"

#define SOLKEY_OTP_WORD 16
#define SOLKEY_OTP_SIZE 32

static int bitOf(xsMachine *the) {
  int index = xsmcToInteger(xsArg(0));
  if (index < 0 || index >= SOLKEY_OTP_SIZE) xsRangeError("otp: bit %d outside 0-%d", index, SOLKEY_OTP_SIZE - 1);
  return index;
}

static volatile uint32_t *wordOf(int index) {
  return &NRF_UICR->CUSTOMER[SOLKEY_OTP_WORD + index / 2];
}

void xs_solkey_otp_size(xsMachine *the) {
  xsmcSetInteger(xsResult, SOLKEY_OTP_SIZE);
}

void xs_solkey_otp_read(xsMachine *the) {
  int index = bitOf(the);
  xsmcSetBoolean(xsResult, (*wordOf(index) & (1u << (index % 2))) == 0);
}

void xs_solkey_otp_program(xsMachine *the) {
  int index = bitOf(the);
  if (nrf_sdh_is_enabled()) xsUnknownError("otp: UICR cannot be written while the SoftDevice runs");
  volatile uint32_t *word = wordOf(index);
  /* Only this bit goes to 0; bits already 0 stay 0 (writing 1 over a programmed bit changes nothing). */
  uint32_t value = ~(1u << (index % 2));
  NRF_NVMC->CONFIG = NVMC_CONFIG_WEN_Wen << NVMC_CONFIG_WEN_Pos;
  while (NRF_NVMC->READY == NVMC_READY_READY_Busy) {
  }
  *word = value;
  while (NRF_NVMC->READY == NVMC_READY_READY_Busy) {
  }
  NRF_NVMC->CONFIG = NVMC_CONFIG_WEN_Ren << NVMC_CONFIG_WEN_Pos;
  while (NRF_NVMC->READY == NVMC_READY_READY_Busy) {
  }
}
