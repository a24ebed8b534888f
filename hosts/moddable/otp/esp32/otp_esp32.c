/* The `otp` host functions on ESP32-family chips: solkey's bits in eFuse BLK3 (the user block), through ESP-IDF's
   eFuse API. What a chip lends depends on BLK3's coding scheme (docs/HARDENING.md "OTP bits per chip"):
   - ESP32, coding "None" (most parts): bits may be programmed one at a time. solkey takes BLK3 bits 192-255 (64 bits);
     ESP-IDF's table uses 0-55 (custom MAC and its CRC), 96-127 (ADC calibration on parts with BLK3_PART_RESERVE),
     128-159 (SECURE_VERSION: the app anti-rollback counter) and 184-191 (custom MAC version).
   - ESP32, coding "3/4": BLK3 holds 192 bits in four 6-byte units, each written once (the encoding covers the unit).
     solkey may write once: bit 56 (unit 1, bytes 6-11, shared only with the last byte of a custom MAC, which such a
     product must not program after). Size 1: the "has booted with a journal" mark; no rollback anchor.
   - ESP32-S2/S3/C3 and later: BLK3 (EFUSE_BLK_USER_DATA) is Reed-Solomon coded, so the whole block is written once.
     Size 1 (bit 0) while the block is blank or bit 0 is ours; 0 when something else has written it.
   Bits read as programmed once set; esp_efuse_write_field_bit burns one bit and the caller reads it back. */
#include "xsmc.h"

#include "esp_efuse.h"
#include "esp_idf_version.h"
#include "sdkconfig.h"

#if ESP_IDF_VERSION < ESP_IDF_VERSION_VAL(5, 0, 0)
#error "solkey needs ESP-IDF v6.0 (checked) or at least v5.0 (eFuse API): see README, Building the firmware"
#elif ESP_IDF_VERSION < ESP_IDF_VERSION_VAL(6, 0, 0)
#warning "solkey is built and checked with ESP-IDF v6.0; this is older (README, Building the firmware)"
#endif

typedef struct {
  int first; /* BLK3 bit of solkey's bit 0 */
  int size;
} solkey_otp_layout;

static solkey_otp_layout layoutOf(void) {
  solkey_otp_layout none = {0, 0};
#if CONFIG_IDF_TARGET_ESP32
  switch (esp_efuse_get_coding_scheme(EFUSE_BLK3)) {
    case EFUSE_CODING_SCHEME_NONE: {
      solkey_otp_layout all = {192, 64};
      return all;
    }
    case EFUSE_CODING_SCHEME_3_4: {
      solkey_otp_layout once = {56, 1};
      return once;
    }
    default:
      return none; /* REPEAT coding: not on production parts solkey supports */
  }
#else
  esp_efuse_desc_t bit0 = {EFUSE_BLK3, 0, 1};
  const esp_efuse_desc_t *field[] = {&bit0, NULL};
  if (esp_efuse_block_is_empty(EFUSE_BLK3) || esp_efuse_read_field_bit(field)) {
    solkey_otp_layout once = {0, 1};
    return once;
  }
  return none;
#endif
}

static int bitOf(xsMachine *the) {
  solkey_otp_layout layout = layoutOf();
  int index = xsmcToInteger(xsArg(0));
  if (index < 0 || index >= layout.size) xsRangeError("otp: bit %d outside 0-%d", index, layout.size - 1);
  return layout.first + index;
}

void xs_solkey_otp_size(xsMachine *the) {
  xsmcSetInteger(xsResult, layoutOf().size);
}

void xs_solkey_otp_read(xsMachine *the) {
  esp_efuse_desc_t bit = {EFUSE_BLK3, bitOf(the), 1};
  const esp_efuse_desc_t *field[] = {&bit, NULL};
  xsmcSetBoolean(xsResult, esp_efuse_read_field_bit(field));
}

void xs_solkey_otp_program(xsMachine *the) {
  esp_efuse_desc_t bit = {EFUSE_BLK3, bitOf(the), 1};
  const esp_efuse_desc_t *field[] = {&bit, NULL};
  esp_err_t err = esp_efuse_write_field_bit(field);
  if (err != ESP_OK) xsUnknownError("otp: eFuse BLK3 bit %d refused (%s)", bit.bit_start, esp_err_to_name(err));
}
