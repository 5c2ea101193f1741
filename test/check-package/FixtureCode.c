/* The code of the hand-made CPU packages that qcc-check-package is tested
 * on, in the shape the CPU backend compiles to: y[i][j] = 2 * x[i][j] + b[j]
 * for x f32[2, 8] at arena offset 0, y at 64 and b f32[8] in the weights. */
#include <stdint.h>

void qcc_model_run(int64_t context, uint8_t *arena, const uint8_t *weights,
                   void (*call)(int64_t, int64_t),
                   void (*parallel)(int64_t,
                                    void (*)(uint8_t *, const uint8_t *,
                                             int64_t, int64_t),
                                    uint8_t *, const uint8_t *, int64_t)) {
  (void)context;
  (void)call;
  (void)parallel;
  const float *x = (const float *)arena;
  const float *b = (const float *)weights;
  float *y = (float *)(arena + 64);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 8; ++j)
      y[i * 8 + j] = 2.0f * x[i * 8 + j] + b[j];
}
