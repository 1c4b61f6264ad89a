/* openapi.c — embeds api/openapi.json into the binary (served at /openapi.json). */
#include "api/openapi.h"

__asm__(".section .rodata\n"
        ".global api_openapi_json\n"
        ".type api_openapi_json, @object\n"
        "api_openapi_json:\n"
        ".incbin \"api/openapi.json\"\n"
        ".byte 0\n"
        ".size api_openapi_json, . - api_openapi_json\n"
        ".previous\n");
