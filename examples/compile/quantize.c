/* The qcc compiler from C: import an ONNX model, quantize it with calibration
 * files, print the report's JSON and write a package.
 *
 *   quantize-c MODEL.onnx CALIB OUT.qpkg [NAME=VALUE...]
 *
 * CALIB is what `qcc quantize --calib` takes; NAME=VALUE pairs are quantize
 * options (scheme=w4a16, group-size=32, ...), except input-shape=NAME=SHAPE,
 * an import option. On failure it prints every diagnostic and exits with 1. */
#include <qcc/compiler.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL.onnx CALIB OUT.qpkg [NAME=VALUE...]\n",
            argv[0]);
    return 2;
  }
  size_t count = (size_t)(argc - 4), num_options = 0, num_import = 0;
  qcc_compiler_option *options = calloc(count + 1, sizeof(*options));
  qcc_compiler_option *import = calloc(count + 1, sizeof(*import));
  for (size_t i = 0; i < count; ++i) {
    char *eq = strchr(argv[4 + i], '=');
    if (!eq) {
      fprintf(stderr, "error: expected NAME=VALUE, got '%s'\n", argv[4 + i]);
      return 2;
    }
    *eq = '\0';
    qcc_compiler_option option = {argv[4 + i], eq + 1};
    if (strcmp(option.name, "input-shape") == 0)
      import[num_import++] = option;
    else
      options[num_options++] = option;
  }
  qcc_compiler_model *model = NULL, *quantized = NULL;
  int status = qcc_compiler_import_file(argv[1], import, num_import, &model);
  if (status == QCC_COMPILER_OK)
    status = qcc_compiler_quantize(model, NULL, 0, 0, argv[2], options,
                                   num_options, &quantized);
  if (status == QCC_COMPILER_OK) {
    printf("%s\n", qcc_compiler_report_json(quantized));
    status = qcc_compiler_compile(quantized, NULL, 0, argv[3]);
  }
  if (status != QCC_COMPILER_OK)
    fprintf(stderr, "%s", qcc_compiler_last_diagnostics());
  qcc_compiler_model_free(quantized);
  qcc_compiler_model_free(model);
  free(options);
  free(import);
  return status == QCC_COMPILER_OK ? 0 : 1;
}
