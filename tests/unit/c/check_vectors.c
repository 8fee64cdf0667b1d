/* A port's unit test, as a C or HLS project would write it: recompute one recurrent
 * layer step by step from the weights in a header written by `rnnparity export
 * --format c-header --prefix v`, and compare every gate and state with the exported
 * trace. The layer is the one named "cell" (forward direction), a GRU (either
 * reset_after), an LSTM or a SimpleRNN with Keras' default activations.
 *
 * Build: cc -std=c99 -Wall -Wextra -Werror -DVECTORS='"vectors.h"' check_vectors.c -lm
 * Prints the largest error and exits 1 if any value is beyond V_ATOL + V_RTOL * |ref|.
 */
#include <math.h>
#include <stdio.h>

#include VECTORS

#define B V_BATCH
#define T V_TIMESTEPS
#define F V_CELL_FORWARD_FEATURES
#define U V_CELL_FORWARD_UNITS

static double max_error = 0.0;
static long failures = 0;

static void check(const char *name, int b, int t, int u, float got, float expected) {
    double error = fabs((double)got - (double)expected);
    if (error > max_error) {
        max_error = error;
    }
    if (error > V_ATOL + V_RTOL * fabs((double)expected)) {
        if (failures < 5) {
            printf("%s[%d][%d][%d]: C %.9g, exported %.9g\n", name, b, t, u, got, expected);
        }
        failures++;
    }
}

static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* sum_k x[k] * W[k][u] for one gate's (features, units) kernel */
static float dot_in(const float *x, const float (*w)[U], int u) {
    float sum = 0.0f;
    for (int k = 0; k < F; k++) {
        sum += x[k] * w[k][u];
    }
    return sum;
}

/* sum_j h[j] * U[j][u] for one gate's (units, units) recurrent kernel */
static float dot_rec(const float *h, const float (*w)[U], int u) {
    float sum = 0.0f;
    for (int j = 0; j < U; j++) {
        sum += h[j] * w[j][u];
    }
    return sum;
}

int main(void) {
    for (int b = 0; b < B; b++) {
        float h[U];
#ifdef V_CELL_FORWARD_KIND_LSTM
        float c[U];
        for (int u = 0; u < U; u++) {
            c[u] = v_cell_forward_initial_state_cell[b][u];
        }
#endif
        for (int u = 0; u < U; u++) {
            h[u] = v_cell_forward_initial_state_hidden[b][u];
        }
        for (int t = 0; t < T; t++) {
            const float *x = v_cell_forward_inputs[b][t];
            float h_new[U];
#if defined(V_CELL_FORWARD_KIND_GRU)
            float z[U], r[U];
            for (int u = 0; u < U; u++) {
                float xz = dot_in(x, v_cell_forward_kernel_z, u) + v_cell_forward_input_bias_z[u];
                float xr = dot_in(x, v_cell_forward_kernel_r, u) + v_cell_forward_input_bias_r[u];
                float hz = dot_rec(h, v_cell_forward_recurrent_kernel_z, u);
                float hr = dot_rec(h, v_cell_forward_recurrent_kernel_r, u);
#if V_CELL_FORWARD_RESET_AFTER
                hz += v_cell_forward_recurrent_bias_z[u];
                hr += v_cell_forward_recurrent_bias_r[u];
#endif
                z[u] = sigmoid(xz + hz);
                r[u] = sigmoid(xr + hr);
            }
#if !V_CELL_FORWARD_RESET_AFTER
            float reset_h[U];
            for (int j = 0; j < U; j++) {
                reset_h[j] = r[j] * h[j];
            }
#endif
            for (int u = 0; u < U; u++) {
                float xh = dot_in(x, v_cell_forward_kernel_h, u) + v_cell_forward_input_bias_h[u];
#if V_CELL_FORWARD_RESET_AFTER
                float hh_pre = xh + r[u] * (dot_rec(h, v_cell_forward_recurrent_kernel_h, u) +
                                            v_cell_forward_recurrent_bias_h[u]);
#else
                float hh_pre = xh + dot_rec(reset_h, v_cell_forward_recurrent_kernel_h, u);
#endif
                float hh = tanhf(hh_pre);
                h_new[u] = z[u] * h[u] + (1.0f - z[u]) * hh;
                check("update", b, t, u, z[u], v_cell_forward_trace_update[b][t][u]);
                check("reset", b, t, u, r[u], v_cell_forward_trace_reset[b][t][u]);
                check("candidate", b, t, u, hh, v_cell_forward_trace_candidate[b][t][u]);
            }
#elif defined(V_CELL_FORWARD_KIND_LSTM)
            for (int u = 0; u < U; u++) {
                float i = sigmoid(dot_in(x, v_cell_forward_kernel_i, u) +
                                  dot_rec(h, v_cell_forward_recurrent_kernel_i, u) +
                                  v_cell_forward_input_bias_i[u]);
                float f = sigmoid(dot_in(x, v_cell_forward_kernel_f, u) +
                                  dot_rec(h, v_cell_forward_recurrent_kernel_f, u) +
                                  v_cell_forward_input_bias_f[u]);
                float g = tanhf(dot_in(x, v_cell_forward_kernel_c, u) +
                                dot_rec(h, v_cell_forward_recurrent_kernel_c, u) +
                                v_cell_forward_input_bias_c[u]);
                float o = sigmoid(dot_in(x, v_cell_forward_kernel_o, u) +
                                  dot_rec(h, v_cell_forward_recurrent_kernel_o, u) +
                                  v_cell_forward_input_bias_o[u]);
                c[u] = f * c[u] + i * g;
                h_new[u] = o * tanhf(c[u]);
                check("input", b, t, u, i, v_cell_forward_trace_input[b][t][u]);
                check("forget", b, t, u, f, v_cell_forward_trace_forget[b][t][u]);
                check("candidate", b, t, u, g, v_cell_forward_trace_candidate[b][t][u]);
                check("output", b, t, u, o, v_cell_forward_trace_output[b][t][u]);
                check("cell", b, t, u, c[u], v_cell_forward_trace_cell[b][t][u]);
            }
#else
            for (int u = 0; u < U; u++) {
                h_new[u] = tanhf(dot_in(x, v_cell_forward_kernel_h, u) +
                                 dot_rec(h, v_cell_forward_recurrent_kernel_h, u) +
                                 v_cell_forward_input_bias_h[u]);
            }
#endif
            for (int u = 0; u < U; u++) {
                h[u] = h_new[u];
                check("hidden", b, t, u, h[u], v_cell_forward_trace_hidden[b][t][u]);
            }
        }
    }
    printf("max abs error %.3e, %ld values beyond tolerance\n", max_error, failures);
    return failures ? 1 : 0;
}
