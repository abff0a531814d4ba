// Argument access and validation for the N-API binding (addon.cc): reads
// numbers, sizes, flags and typed arrays, and throws a TypeError / RangeError
// naming the op, the argument and the sizes on the first problem.
#pragma once
#include <node_api.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "table.h"

namespace gvm {
namespace binding {

constexpr size_t kMaxArgs = 20;

// Argument access for one call; the first error is thrown and later reads return zeros.
struct Call {
  napi_env env;
  const char* op;
  const KernelTable* table = nullptr;
  napi_value argv[kMaxArgs];
  size_t argc = kMaxArgs;
  bool failed = false;

  Call(napi_env e, napi_callback_info info, const char* name, size_t expected) : env(e), op(name) {
    void* data = nullptr;
    if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) {
      fail_type("could not read the arguments");
      return;
    }
    table = static_cast<const KernelTable*>(data);
    if (argc < expected) fail_type("expects %zu arguments, got %zu", expected, argc);
  }

  void fail(bool range, const char* fmt, va_list ap) {
    if (failed) return;
    failed = true;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: ", op);
    vsnprintf(msg + n, sizeof msg - n, fmt, ap);
    if (range)
      napi_throw_range_error(env, "ERR_GVM_KERNEL_ARGS", msg);
    else
      napi_throw_type_error(env, "ERR_GVM_KERNEL_ARGS", msg);
  }
  void fail_type(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fail(false, fmt, ap);
    va_end(ap);
  }
  void fail_range(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fail(true, fmt, ap);
    va_end(ap);
  }

  double num(size_t i, const char* name) {
    double d = 0;
    if (failed) return 0;
    if (napi_get_value_double(env, argv[i], &d) != napi_ok) fail_type("%s must be a number", name);
    return d;
  }
  // A non-negative integer size or stride.
  int64_t size(size_t i, const char* name) {
    double d = num(i, name);
    if (failed) return 0;
    // below 2^31, so products of two sizes fit in int64; longer products are checked in double
    if (!(d >= 0) || d != floor(d) || d > 2147483647.0) {
      fail_range("%s must be a non-negative integer below 2^31, got %g", name, d);
      return 0;
    }
    return static_cast<int64_t>(d);
  }
  bool flag(size_t i, const char* name) {
    bool b = false;
    if (failed) return false;
    if (napi_get_value_bool(env, argv[i], &b) != napi_ok) fail_type("%s must be a boolean", name);
    return b;
  }
  bool is_null(size_t i) {
    napi_valuetype t;
    return !failed && napi_typeof(env, argv[i], &t) == napi_ok && (t == napi_null || t == napi_undefined);
  }
  // A typed array of the given kind with at least `need` elements.
  void* array(size_t i, const char* name, napi_typedarray_type want, const char* kind, double need, size_t* len) {
    if (failed) return nullptr;
    bool is = false;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_is_typedarray(env, argv[i], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[i], &type, &length, &data, nullptr, nullptr) != napi_ok || type != want) {
      fail_type("%s must be a %s", name, kind);
      return nullptr;
    }
    if (static_cast<double>(length) < need) {
      fail_range("%s has %zu elements but the sizes given need %.0f", name, length, need);
      return nullptr;
    }
    if (len) *len = length;
    return data;
  }
  float* f32(size_t i, const char* name, double need, size_t* len = nullptr) {
    return static_cast<float*>(array(i, name, napi_float32_array, "Float32Array", need, len));
  }
  const int32_t* i32(size_t i, const char* name, double need) {
    return static_cast<const int32_t*>(array(i, name, napi_int32_array, "Int32Array", need, nullptr));
  }
  int32_t* i32_out(size_t i, const char* name, double need) {
    return static_cast<int32_t*>(array(i, name, napi_int32_array, "Int32Array", need, nullptr));
  }
  double* f64(size_t i, const char* name, double need) {
    return static_cast<double*>(array(i, name, napi_float64_array, "Float64Array", need, nullptr));
  }
  const uint8_t* u8(size_t i, const char* name, double need) {
    return static_cast<const uint8_t*>(array(i, name, napi_uint8_array, "Uint8Array", need, nullptr));
  }
  napi_value undefined() {
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  }
};

// Elements a batch of (rows x cols) matrices with row stride ld spans.
inline double extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return static_cast<double>(batch - 1) * stride + static_cast<double>(rows - 1) * ld + static_cast<double>(cols);
}

}  // namespace binding
}  // namespace gvm
