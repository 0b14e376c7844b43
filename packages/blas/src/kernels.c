// Convolution kernels on CBLAS sgemm for the tfjs wasm backend: they compute in place on the wasm
// heap (an ArrayBuffer this addon borrows for the call), so no tensor is copied in or out.
//
// Layouts are tfjs's: x [n, h, w, c] (NHWC), filter [kh, kw, c, o] (HWIO, i.e. row-major [K, o] with
// K = kh·kw·c), y and dy [n, oh, ow, o]. Non-pointwise convolutions go through im2col in chunks of
// output pixels so that the scratch buffer stays bounded (SCRATCH_BYTES per thread) whatever the batch.
#include <cblas.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

// OpenBLAS's thread count, when the CBLAS is OpenBLAS (weak: other CBLAS libraries lack it).
extern void openblas_set_num_threads(int) __attribute__((weak));
extern char* openblas_get_config(void) __attribute__((weak));

#define SCRATCH_BYTES (16u << 20)

typedef struct {
  int64_t n, h, w, c, kh, kw, oh, ow, o, sh, sw, pt, pl;
} Geom;

// Per Node environment (main thread or worker): the im2col scratch, freed with the environment.
typedef struct {
  float* scratch;
  size_t capacity;  // floats
} Instance;

static void free_instance(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  Instance* inst = data;
  free(inst->scratch);
  free(inst);
}

static float* scratch_for(napi_env env, size_t floats) {
  Instance* inst = NULL;
  napi_get_instance_data(env, (void**)&inst);
  if (inst->capacity < floats) {
    free(inst->scratch);
    inst->scratch = malloc(floats * sizeof(float));
    inst->capacity = inst->scratch ? floats : 0;
  }
  return inst->scratch;
}

static int pointwise(const Geom* g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h &&
         g->ow == g->w;
}

// Rows per im2col chunk: as many output pixels as fit the scratch buffer (at least one).
static int64_t chunk_rows(const Geom* g) {
  int64_t k = g->kh * g->kw * g->c;
  int64_t rows = (int64_t)(SCRATCH_BYTES / sizeof(float)) / k;
  int64_t m = g->n * g->oh * g->ow;
  if (rows < 1) rows = 1;
  return rows < m ? rows : m;
}

// col[r, (ky·kw + kx)·c + ci] = x[b, oy·sh − pt + ky, ox·sw − pl + kx, ci] (0 outside), for the
// output pixels m0 … m0 + rows − 1 (flattened over n, oh, ow).
static void im2col(const Geom* g, const float* x, int64_t m0, int64_t rows, float* col) {
  const int64_t k = g->kh * g->kw * g->c;
  for (int64_t r = 0; r < rows; r++) {
    const int64_t m = m0 + r;
    const int64_t b = m / (g->oh * g->ow), oy = (m / g->ow) % g->oh, ox = m % g->ow;
    float* dst = col + r * k;
    for (int64_t ky = 0; ky < g->kh; ky++) {
      const int64_t iy = oy * g->sh - g->pt + ky;
      for (int64_t kx = 0; kx < g->kw; kx++, dst += g->c) {
        const int64_t ix = ox * g->sw - g->pl + kx;
        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
          memset(dst, 0, g->c * sizeof(float));
        } else {
          memcpy(dst, x + ((b * g->h + iy) * g->w + ix) * g->c, g->c * sizeof(float));
        }
      }
    }
  }
}

// The adjoint of im2col: dx[b, iy, ix, ci] += dcol[r, (ky·kw + kx)·c + ci].
static void col2im(const Geom* g, const float* dcol, int64_t m0, int64_t rows, float* dx) {
  const int64_t k = g->kh * g->kw * g->c;
  for (int64_t r = 0; r < rows; r++) {
    const int64_t m = m0 + r;
    const int64_t b = m / (g->oh * g->ow), oy = (m / g->ow) % g->oh, ox = m % g->ow;
    const float* src = dcol + r * k;
    for (int64_t ky = 0; ky < g->kh; ky++) {
      const int64_t iy = oy * g->sh - g->pt + ky;
      for (int64_t kx = 0; kx < g->kw; kx++, src += g->c) {
        const int64_t ix = ox * g->sw - g->pl + kx;
        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
        float* dst = dx + ((b * g->h + iy) * g->w + ix) * g->c;
        for (int64_t ci = 0; ci < g->c; ci++) dst[ci] += src[ci];
      }
    }
  }
}

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2 };

// ---- argument handling -------------------------------------------------------------------------

typedef struct {
  char* heap;
  size_t bytes;
} Heap;

static napi_value fail(napi_env env, const char* message) {
  napi_throw_range_error(env, "ERR_PATCHGD_BLAS_ARGUMENT", message);
  return NULL;
}

// Reads argv[0] (the heap ArrayBuffer), argv[1 … count] as integers into out and, where eps is not
// NULL, argv[count + 1] as a positive double.
static int read_args(napi_env env, napi_callback_info info, size_t count, Heap* heap, int64_t* out, double* eps) {
  napi_value argv[24];
  size_t argc = 24;
  const size_t expected = count + 1 + (eps != NULL);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != expected) {
    fail(env, "wrong number of arguments");
    return 0;
  }
  bool is_buffer = false;
  napi_is_arraybuffer(env, argv[0], &is_buffer);
  if (!is_buffer) {
    fail(env, "the first argument must be the wasm heap's ArrayBuffer");
    return 0;
  }
  void* data = NULL;
  napi_get_arraybuffer_info(env, argv[0], &data, &heap->bytes);
  heap->heap = data;
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_int64(env, argv[i + 1], &out[i]) != napi_ok) {
      fail(env, "expected integer arguments");
      return 0;
    }
  }
  if (eps != NULL && (napi_get_value_double(env, argv[count + 1], eps) != napi_ok || !(*eps > 0))) {
    fail(env, "epsilon must be a positive number");
    return 0;
  }
  return 1;
}

// A float pointer into the heap for `floats` floats at byte offset `offset`, or NULL when out of range.
static float* at(const Heap* heap, int64_t offset, int64_t floats) {
  if (offset < 0 || offset % 4 != 0 || floats < 0) return NULL;
  if ((uint64_t)offset + (uint64_t)floats * 4u > heap->bytes) return NULL;
  return (float*)(heap->heap + offset);
}

static int read_geom(const int64_t* a, Geom* g) {
  *g = (Geom){a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]};
  for (int i = 0; i < 13; i++) {
    if (a[i] < 0 || (i < 11 && a[i] == 0)) return 0;
  }
  return 1;
}

#define GEOM_ARGS 13

// convForward(heap, n, h, w, c, kh, kw, oh, ow, o, sh, sw, pt, pl, x, filter, bias (−1: none), y, activation)
static napi_value conv_forward(napi_env env, napi_callback_info info) {
  Heap heap;
  int64_t a[GEOM_ARGS + 5];
  Geom g;
  if (!read_args(env, info, GEOM_ARGS + 5, &heap, a, NULL)) return NULL;
  if (!read_geom(a, &g)) return fail(env, "invalid convolution geometry");
  const int64_t m = g.n * g.oh * g.ow, k = g.kh * g.kw * g.c;
  const float* x = at(&heap, a[13], g.n * g.h * g.w * g.c);
  const float* f = at(&heap, a[14], k * g.o);
  const float* bias = a[15] < 0 ? NULL : at(&heap, a[15], g.o);
  float* y = at(&heap, a[16], m * g.o);
  const int64_t act = a[17];
  if (!x || !f || !y || (a[15] >= 0 && !bias)) return fail(env, "tensor outside the heap");
  if (pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, g.o, k, 1.0f, x, k, f, g.o, 0.0f, y, g.o);
  } else {
    const int64_t rows = chunk_rows(&g);
    float* col = scratch_for(env, rows * k);
    if (!col) return fail(env, "out of memory for the im2col buffer");
    for (int64_t m0 = 0; m0 < m; m0 += rows) {
      const int64_t r = m - m0 < rows ? m - m0 : rows;
      im2col(&g, x, m0, r, col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, g.o, k, 1.0f, col, k, f, g.o, 0.0f, y + m0 * g.o, g.o);
    }
  }
  if (bias || act != ACT_LINEAR) {
    for (int64_t i = 0; i < m; i++) {
      float* row = y + i * g.o;
      if (bias) {
        for (int64_t j = 0; j < g.o; j++) row[j] += bias[j];
      }
      if (act == ACT_RELU) {
        for (int64_t j = 0; j < g.o; j++) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
      } else if (act == ACT_RELU6) {
        for (int64_t j = 0; j < g.o; j++) row[j] = row[j] > 0.0f ? (row[j] < 6.0f ? row[j] : 6.0f) : 0.0f;
      }
    }
  }
  return NULL;
}

// convBackpropFilter(heap, geometry…, x, dy, dw): dw[K, o] = Σ im2col(x)ᵀ · dy.
static napi_value conv_backprop_filter(napi_env env, napi_callback_info info) {
  Heap heap;
  int64_t a[GEOM_ARGS + 3];
  Geom g;
  if (!read_args(env, info, GEOM_ARGS + 3, &heap, a, NULL)) return NULL;
  if (!read_geom(a, &g)) return fail(env, "invalid convolution geometry");
  const int64_t m = g.n * g.oh * g.ow, k = g.kh * g.kw * g.c;
  const float* x = at(&heap, a[13], g.n * g.h * g.w * g.c);
  const float* dy = at(&heap, a[14], m * g.o);
  float* dw = at(&heap, a[15], k * g.o);
  if (!x || !dy || !dw) return fail(env, "tensor outside the heap");
  if (pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g.o, m, 1.0f, x, k, dy, g.o, 0.0f, dw, g.o);
    return NULL;
  }
  const int64_t rows = chunk_rows(&g);
  float* col = scratch_for(env, rows * k);
  if (!col) return fail(env, "out of memory for the im2col buffer");
  for (int64_t m0 = 0; m0 < m; m0 += rows) {
    const int64_t r = m - m0 < rows ? m - m0 : rows;
    im2col(&g, x, m0, r, col);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g.o, r, 1.0f, col, k, dy + m0 * g.o, g.o,
                m0 == 0 ? 0.0f : 1.0f, dw, g.o);
  }
  return NULL;
}

// convBackpropInput(heap, geometry…, dy, filter, dx): dx = col2im(dy · filterᵀ).
static napi_value conv_backprop_input(napi_env env, napi_callback_info info) {
  Heap heap;
  int64_t a[GEOM_ARGS + 3];
  Geom g;
  if (!read_args(env, info, GEOM_ARGS + 3, &heap, a, NULL)) return NULL;
  if (!read_geom(a, &g)) return fail(env, "invalid convolution geometry");
  const int64_t m = g.n * g.oh * g.ow, k = g.kh * g.kw * g.c;
  const float* dy = at(&heap, a[13], m * g.o);
  const float* f = at(&heap, a[14], k * g.o);
  float* dx = at(&heap, a[15], g.n * g.h * g.w * g.c);
  if (!dy || !f || !dx) return fail(env, "tensor outside the heap");
  if (pointwise(&g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, g.o, 1.0f, dy, g.o, f, g.o, 0.0f, dx, k);
    return NULL;
  }
  const int64_t rows = chunk_rows(&g);
  float* col = scratch_for(env, rows * k);
  if (!col) return fail(env, "out of memory for the im2col buffer");
  memset(dx, 0, (size_t)(g.n * g.h * g.w * g.c) * sizeof(float));
  for (int64_t m0 = 0; m0 < m; m0 += rows) {
    const int64_t r = m - m0 < rows ? m - m0 : rows;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r, k, g.o, 1.0f, dy + m0 * g.o, g.o, f, g.o, 0.0f, col, k);
    col2im(&g, col, m0, r, dx);
  }
  return NULL;
}

// matMul(heap, m, n, k, transA, transB, a, b, c): c[m, n] = op(a) · op(b), row-major.
static napi_value mat_mul(napi_env env, napi_callback_info info) {
  Heap heap;
  int64_t a[8];
  if (!read_args(env, info, 8, &heap, a, NULL)) return NULL;
  const int64_t m = a[0], n = a[1], k = a[2];
  const int ta = a[3] != 0, tb = a[4] != 0;
  if (m <= 0 || n <= 0 || k <= 0) return fail(env, "invalid matrix sizes");
  const float* A = at(&heap, a[5], m * k);
  const float* B = at(&heap, a[6], k * n);
  float* C = at(&heap, a[7], m * n);
  if (!A || !B || !C) return fail(env, "tensor outside the heap");
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, A,
              ta ? m : k, B, tb ? k : n, 0.0f, C, n);
  return NULL;
}


// ---- batch norm in training mode (statistics over the rows of x [m, c]) -------------------------

// batchNormForward(heap, m, c, x, gamma, beta, y, mean, variance, epsilon): mean and biased variance
// per channel (two passes, in double), y = γ·(x − mean)/√(variance + ε) + β.
static napi_value bn_forward(napi_env env, napi_callback_info info) {
  Heap heap;
  int64_t a[8];
  double eps;
  if (!read_args(env, info, 8, &heap, a, &eps)) return NULL;
  const int64_t m = a[0], c = a[1];
  if (m <= 0 || c <= 0) return fail(env, "invalid batch-norm sizes");
  const float* x = at(&heap, a[2], m * c);
  const float* gamma = at(&heap, a[3], c);
  const float* beta = at(&heap, a[4], c);
  float* y = at(&heap, a[5], m * c);
  float* mean = at(&heap, a[6], c);
  float* variance = at(&heap, a[7], c);
  if (!x || !gamma || !beta || !y || !mean || !variance) return fail(env, "tensor outside the heap");
  double* acc = calloc((size_t)c * 2, sizeof(double));
  float* coef = malloc((size_t)c * 2 * sizeof(float));
  if (!acc || !coef) {
    free(acc);
    free(coef);
    return fail(env, "out of memory");
  }
  for (int64_t i = 0; i < m; i++) {
    const float* row = x + i * c;
    for (int64_t j = 0; j < c; j++) acc[j] += row[j];
  }
  for (int64_t j = 0; j < c; j++) coef[j] = (float)(acc[j] / (double)m);
  for (int64_t i = 0; i < m; i++) {
    const float* row = x + i * c;
    for (int64_t j = 0; j < c; j++) {
      const double d = (double)row[j] - coef[j];
      acc[c + j] += d * d;
    }
  }
  for (int64_t j = 0; j < c; j++) {
    mean[j] = coef[j];
    variance[j] = (float)(acc[c + j] / (double)m);
    const float scale = (float)(gamma[j] / sqrt((double)variance[j] + eps));
    coef[c + j] = beta[j] - coef[j] * scale;  // y = x·scale + shift
    coef[j] = scale;
  }
  for (int64_t i = 0; i < m; i++) {
    const float* row = x + i * c;
    float* out = y + i * c;
    for (int64_t j = 0; j < c; j++) out[j] = row[j] * coef[j] + coef[c + j];
  }
  free(acc);
  free(coef);
  return NULL;
}

// batchNormBackward(heap, m, c, x, dy, mean, variance, gamma, dx, dgamma, dbeta, epsilon):
// dβ = Σ dy, dγ = Σ dy·x̂, dx = γ/σ · (dy − dβ/m − x̂·dγ/m), x̂ = (x − mean)/σ, σ = √(variance + ε).
static napi_value bn_backward(napi_env env, napi_callback_info info) {
  Heap heap;
  int64_t a[10];
  double eps;
  if (!read_args(env, info, 10, &heap, a, &eps)) return NULL;
  const int64_t m = a[0], c = a[1];
  if (m <= 0 || c <= 0) return fail(env, "invalid batch-norm sizes");
  const float* x = at(&heap, a[2], m * c);
  const float* dy = at(&heap, a[3], m * c);
  const float* mean = at(&heap, a[4], c);
  const float* variance = at(&heap, a[5], c);
  const float* gamma = at(&heap, a[6], c);
  float* dx = at(&heap, a[7], m * c);
  float* dgamma = at(&heap, a[8], c);
  float* dbeta = at(&heap, a[9], c);
  if (!x || !dy || !mean || !variance || !gamma || !dx || !dgamma || !dbeta) return fail(env, "tensor outside the heap");
  double* acc = calloc((size_t)c * 2, sizeof(double));
  float* coef = malloc((size_t)c * 5 * sizeof(float));
  if (!acc || !coef) {
    free(acc);
    free(coef);
    return fail(env, "out of memory");
  }
  float* inv = coef;          // 1/σ
  float* mu = coef + c;       // mean
  for (int64_t j = 0; j < c; j++) {
    inv[j] = (float)(1.0 / sqrt((double)variance[j] + eps));
    mu[j] = mean[j];
  }
  for (int64_t i = 0; i < m; i++) {
    const float* xr = x + i * c;
    const float* gr = dy + i * c;
    for (int64_t j = 0; j < c; j++) {
      acc[j] += gr[j];
      acc[c + j] += (double)gr[j] * ((xr[j] - mu[j]) * inv[j]);
    }
  }
  float* k1 = coef + 2 * c;   // γ/σ
  float* k0 = coef + 3 * c;   // dβ/m
  float* kg = coef + 4 * c;   // dγ/m
  for (int64_t j = 0; j < c; j++) {
    dbeta[j] = (float)acc[j];
    dgamma[j] = (float)acc[c + j];
    k1[j] = gamma[j] * inv[j];
    k0[j] = (float)(acc[j] / (double)m);
    kg[j] = (float)(acc[c + j] / (double)m);
  }
  for (int64_t i = 0; i < m; i++) {
    const float* xr = x + i * c;
    const float* gr = dy + i * c;
    float* out = dx + i * c;
    for (int64_t j = 0; j < c; j++) {
      const float xhat = (xr[j] - mu[j]) * inv[j];
      out[j] = k1[j] * (gr[j] - k0[j] - xhat * kg[j]);
    }
  }
  free(acc);
  free(coef);
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  int32_t threads = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1) {
    return fail(env, "threads must be a positive integer");
  }
  bool set = openblas_set_num_threads != NULL;
  if (set) openblas_set_num_threads(threads);
  napi_value result;
  napi_get_boolean(env, set, &result);
  return result;
}

static napi_value library(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  const char* config = openblas_get_config != NULL ? openblas_get_config() : "CBLAS";
  napi_create_string_utf8(env, config, NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  Instance* inst = calloc(1, sizeof(Instance));
  if (!inst || napi_set_instance_data(env, inst, free_instance, NULL) != napi_ok) return NULL;
  const struct {
    const char* name;
    napi_callback fn;
  } functions[] = {
      {"convForward", conv_forward},   {"convBackpropFilter", conv_backprop_filter},
      {"convBackpropInput", conv_backprop_input}, {"matMul", mat_mul},
      {"batchNormForward", bn_forward}, {"batchNormBackward", bn_backward},
      {"setThreads", set_threads},     {"library", library},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  return exports;
}
