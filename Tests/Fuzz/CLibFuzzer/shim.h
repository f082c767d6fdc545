// libFuzzer's entry for programs that have their own main (compiler-rt
// FuzzerInterface.h). Declared only: the runtime comes with -sanitize=fuzzer,
// and only the fuzzing build of DeviceGateFuzz calls it.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
