/* sdk_spec_fuzz.c — libFuzzer harness for the `sluice apply` file reader: any bytes must give
 * either resources or an error message that points into the file, never a crash or a leak.
 * The reader is part of the CLI, not of a library, so its sources are compiled in here. */
#include <stdint.h>
#include <string.h>

#include "sdk/cli_spec.c"
#include "sdk/resources.c"
#include "sdk/transport.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cli_spec_set set;
    char errbuf[1024];
    if (cli_spec_parse("f.yaml", (const char *)data, size, &set, errbuf, sizeof errbuf) == 0) {
        for (size_t i = 0; i < set.count; i++)
            if (!set.docs[i].name || !json_is_object(set.docs[i].spec))
                __builtin_trap();
        cli_spec_free(&set);
    } else if (strncmp(errbuf, "f.yaml:", 7) != 0) {
        __builtin_trap(); /* every error names the file and a position */
    }
    return 0;
}
