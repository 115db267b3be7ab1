// The N-API face of the C allocator. createRegion(maxBytes) reserves a region and returns its handle:
// { buffer, malloc, calloc, realloc, free, arenaAlloc, arenaFree, trim, residentBytes, close }, u32
// numbers in and numbers out. openRegion(maxBytes, fd, segments, dataOffset) returns the same handle
// over a heap image: the segments listed (a Uint32Array of indices, ascending) are mapped copy-on-write
// from the file, the k-th at dataOffset + k MiB. attachRegion(view, fresh, holder) returns it over a
// shared heap's SharedArrayBuffer, each operation under the region's lock (lock.h). lib/raw/native.ts
// and lib/shared/backends.ts are the only callers; they have
// validated every argument, and lib/image/ the image.
//
// Cost: each operation is one call of a plain N-API function that finds its region in the callback's
// data pointer, ~23 ns of call overhead here. An ObjectWrap method measured ~105 ns per call on the same
// machine (it unwraps `this` and goes through node-addon-api's method trampolines), which is why the hot
// functions are plain N-API and node-addon-api only builds the handle and its errors.
//
// Lifetime: the region's state is shared by the handle and each of its functions (a function can be
// kept after the handle is dropped), and the mmap'ed memory also by the ArrayBuffer over it. Both are
// refcounted: the memory is unmapped when the last holder goes, or at once by close(), which first
// detaches the ArrayBuffer so that every view over it becomes empty instead of dangling.

#include <napi.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

extern "C" {
#include "lock.h"
#include "os.h"
#include "raw.h"
#include "segments.h"
}

namespace {

struct Mapping {
  uint8_t *base;   // NULL once unmapped
  size_t length;
  int refs;        // the region state, and the ArrayBuffer's finalizer
  bool finalized;  // the ArrayBuffer's finalizer has run
};

// Drops one holder of the mapping; the last one unmaps it, so no view can outlive the pages it reads.
void ReleaseMapping(Mapping *m) {
  if (--m->refs > 0) return;
  if (m->base != nullptr) pm_os_unreserve(m->base, m->length);
  delete m;
}

// V8 collected the ArrayBuffer: it no longer holds the mapping (close() may already have unmapped it).
void FinalizeBuffer(napi_env, void *, void *hint) {
  Mapping *m = static_cast<Mapping *>(hint);
  m->finalized = true;
  ReleaseMapping(m);
}

struct RegionState {
  pm_region region;  // region.base is NULL once closed
  Mapping *mapping;  // NULL once closed
  napi_ref buffer;   // weak: the ArrayBuffer over the region, for close() to detach while it lives
  int refs;          // the handle object and each of its functions
};

// The handle or one of its functions was collected; the last one frees the state and its mapping share.
void FinalizeState(napi_env env, void *data, void *) {
  RegionState *state = static_cast<RegionState *>(data);
  if (--state->refs > 0) return;
  napi_delete_reference(env, state->buffer);
  if (state->mapping != nullptr) ReleaseMapping(state->mapping);
  delete[] state->region.file_backed;  // an image's bitmap (region.h), NULL for a fresh region
  delete state;
}

// Errors carry a Node-style code, as every error of the TypeScript side does.
void ThrowWithCode(Napi::Env env, Napi::Error error, const char *code) {
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

// The state and the first N arguments as u32s of a hot call; nullptr (an exception pending) when the
// region is closed or an argument is not a number.
template <size_t N>
RegionState *Enter(napi_env env, napi_callback_info info, uint32_t *args) {
  size_t argc = N;
  napi_value argv[N + 1];
  void *data;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  RegionState *state = static_cast<RegionState *>(data);
  if (state->region.base == nullptr) {
    ThrowWithCode(Napi::Env(env), Napi::Error::New(env, "the heap is closed"), "ERR_PYMEM_HEAP_CLOSED");
    return nullptr;
  }
  for (size_t i = 0; i < N; i++) {
    if (i >= argc || napi_get_value_uint32(env, argv[i], &args[i]) != napi_ok) {
      ThrowWithCode(Napi::Env(env), Napi::TypeError::New(env, "expected a number"), "ERR_INVALID_ARG_TYPE");
      return nullptr;
    }
  }
  return state;
}

// A u32 result as a JS number: offsets and statuses fit, and V8 keeps small ones as Smis.
napi_value Uint32(napi_env env, uint32_t value) {
  napi_value out;
  napi_create_uint32(env, value, &out);
  return out;
}

// malloc, calloc, free and arenaFree: one u32 in, one u32 out.
// Each runs under a shared heap's raw lock (lock.h; a private region takes none).
template <typename R, R (*Op)(pm_region *, uint32_t)>
napi_value Unary(napi_env env, napi_callback_info info) {
  uint32_t a[1];
  RegionState *s = Enter<1>(env, info, a);
  if (s == nullptr) return nullptr;
  pm_lock(&s->region);
  R result = Op(&s->region, a[0]);
  pm_unlock(&s->region);
  return Uint32(env, (uint32_t)result);
}

// realloc returns int64: a u32 pointer, 0, or -status, which a u32 result could not tell apart.
napi_value Realloc(napi_env env, napi_callback_info info) {
  uint32_t a[2];
  RegionState *s = Enter<2>(env, info, a);
  if (s == nullptr) return nullptr;
  pm_lock(&s->region);
  int64_t result = pm_realloc(&s->region, a[0], a[1]);  // -status when refused
  pm_unlock(&s->region);
  napi_value out;
  napi_create_int64(env, result, &out);
  return out;
}

// One whole segment for pymalloc's arena allocator; 0 when none is free.
napi_value ArenaAlloc(napi_env env, napi_callback_info info) {
  RegionState *s = Enter<0>(env, info, nullptr);
  if (s == nullptr) return nullptr;
  pm_lock(&s->region);
  uint32_t arena = pm_arena_alloc(&s->region);
  pm_unlock(&s->region);
  return Uint32(env, arena);
}

// heap.trim()'s raw part: segments given back to the OS, counted for the caller's figures.
napi_value Trim(napi_env env, napi_callback_info info) {
  RegionState *s = Enter<0>(env, info, nullptr);
  if (s == nullptr) return nullptr;
  pm_lock(&s->region);
  uint32_t released = pm_trim(&s->region);
  pm_unlock(&s->region);
  return Uint32(env, released);
}

// stats().residentBytes: mincore's count, or null where the OS cannot say (the fallback always says null).
napi_value ResidentBytes(napi_env env, napi_callback_info info) {
  RegionState *s = Enter<0>(env, info, nullptr);
  if (s == nullptr) return nullptr;
  int64_t resident = pm_os_resident(s->region.base, s->region.limit);
  napi_value out;
  if (resident < 0) napi_get_null(env, &out);
  else napi_create_int64(env, resident, &out);
  return out;
}

// close(): detaches the region's ArrayBuffer, if it still lives, and unmaps the region. Closing twice
// does nothing.
napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  void *data;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data);
  RegionState *s = static_cast<RegionState *>(data);
  if (s->region.base == nullptr) return nullptr;
  s->region.base = nullptr;
  if (s->mapping == nullptr) return nullptr;  // a shared heap's: the SharedArrayBuffer is V8's to free
  napi_value buffer = nullptr;
  napi_get_reference_value(env, s->buffer, &buffer);
  if (buffer != nullptr) napi_detach_arraybuffer(env, buffer);
  pm_os_unreserve(s->mapping->base, s->mapping->length);
  s->mapping->base = nullptr;
  ReleaseMapping(s->mapping);
  s->mapping = nullptr;
  return nullptr;
}

// A region's handle over `base` (reserved, and mapped from an image when file_backed is set): the
// region is made fresh, or adopted when file_backed is set. env.Undefined() with an exception pending
// when it cannot be; the reserve is then unmapped. node-addon-api is fine here: it runs once per heap.
Napi::Value MakeHandle(Napi::Env env, uint8_t *base, size_t length, uint32_t *file_backed);

// The handle itself: the region's state, shared by the handle object and each of its functions, over
// `buffer`. `mapping` is the region's memory when the addon mapped it, nullptr over a SharedArrayBuffer.
Napi::Value Handle(Napi::Env env, const pm_region &region, Mapping *mapping, napi_value buffer);

// Reads maxBytes from the first argument, checked here before any external ArrayBuffer exists: Node
// refuses one over 2^32 bytes by calling its finalizer first, and node-addon-api's wrapper would then
// free its own data twice (abort). 0 with an exception pending when it is out of range.
size_t RegionLength(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  double max_bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(max_bytes >= MIN_MAX_BYTES && max_bytes <= (double)MAX_MAX_BYTES && std::fmod(max_bytes, SEGMENT_SIZE) == 0)) {
    ThrowWithCode(env, Napi::RangeError::New(env, "maxBytes must be a multiple of 1 MiB from 2 MiB to 4 GiB"), "ERR_OUT_OF_RANGE");
    return 0;
  }
  return (size_t)max_bytes;
}

// The reserve for a region of `length` bytes; NULL with ERR_PYMEM_RESERVE_FAILED pending when mmap refuses.
uint8_t *Reserve(Napi::Env env, size_t length) {
  uint8_t *base = pm_os_reserve(length);
  if (base == nullptr) {
    std::string message = "cannot reserve a " + std::to_string(length) + "-byte region: mmap: " + std::strerror(errno);
    ThrowWithCode(env, Napi::Error::New(env, message), "ERR_PYMEM_RESERVE_FAILED");
  }
  return base;
}

// Reserves a fresh region, writes its metadata and returns the handle.
Napi::Value CreateRegion(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t length = RegionLength(info);
  if (length == 0) return env.Undefined();
  uint8_t *base = Reserve(env, length);
  if (base == nullptr) return env.Undefined();
  return MakeHandle(env, base, length, nullptr);
}

// Reserves a region and maps an image's segments into it, each run of consecutive ones with one mmap:
// opening costs O(segments), and a data page is read from the file when first touched.
Napi::Value OpenRegion(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t length = RegionLength(info);
  if (length == 0) return env.Undefined();
  int fd = info[1].As<Napi::Number>().Int32Value();
  Napi::Uint32Array segments = info[2].As<Napi::Uint32Array>();
  uint64_t data = (uint64_t)info[3].As<Napi::Number>().Int64Value();
  uint32_t count = (uint32_t)(length / SEGMENT_SIZE);
  uint8_t *base = Reserve(env, length);
  if (base == nullptr) return env.Undefined();
  uint32_t *file_backed = new uint32_t[(count + 31) / 32]();
  size_t n = segments.ElementLength();
  for (size_t k = 0; k < n;) {
    size_t run = 1;
    while (k + run < n && segments[k + run] == segments[k] + run) run++;
    uint32_t s = segments[k];
    if (s >= count || pm_os_map_file(base + (uint64_t)s * SEGMENT_SIZE, run * SEGMENT_SIZE, fd, data + (uint64_t)k * SEGMENT_SIZE) != 0) {
      std::string message = std::string("cannot map the image's segments: ") + (s >= count ? "a segment past the region" : std::strerror(errno));
      pm_os_unreserve(base, length);
      delete[] file_backed;
      ThrowWithCode(env, Napi::Error::New(env, message), "ERR_PYMEM_BAD_IMAGE");
      return env.Undefined();
    }
    for (size_t i = 0; i < run; i++) file_backed[(s + i) >> 5] |= 1u << ((s + i) & 31);
    k += run;
  }
  return MakeHandle(env, base, length, file_backed);
}

Napi::Value MakeHandle(Napi::Env env, uint8_t *base, size_t length, uint32_t *file_backed) {
  uint32_t count = (uint32_t)(length / SEGMENT_SIZE);
  pm_region region;
  if (file_backed == nullptr) {
    pm_region_init(&region, base, count);
  } else if (!pm_region_adopt(&region, base, count, file_backed)) {
    pm_os_unreserve(base, length);
    delete[] file_backed;
    ThrowWithCode(env, Napi::Error::New(env, "the image's region header is not one of this layout"), "ERR_PYMEM_BAD_IMAGE");
    return env.Undefined();
  }
#ifdef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
  pm_os_unreserve(base, length);
  delete[] file_backed;
  ThrowWithCode(env, Napi::Error::New(env, "this build of the addon cannot expose memory to JavaScript (compiled with NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED)"),
                "ERR_PYMEM_NO_EXTERNAL_BUFFERS");
  return env.Undefined();
#else
  Mapping *mapping = new Mapping{base, length, 2, false};
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(env, base, length, FinalizeBuffer, mapping, &buffer);
  if (status != napi_ok) {
    // Drop the finalizer's reference unless it already ran, then ours: the region is unmapped.
    if (!mapping->finalized) mapping->refs--;
    ReleaseMapping(mapping);
    delete[] file_backed;
    if (status == napi_no_external_buffers_allowed) {
      ThrowWithCode(env, Napi::Error::New(env, "this runtime forbids external ArrayBuffers (napi_no_external_buffers_allowed)"), "ERR_PYMEM_NO_EXTERNAL_BUFFERS");
    } else if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "napi_create_external_arraybuffer failed with status " + std::to_string(status)).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  return Handle(env, region, mapping, buffer);
#endif
}

Napi::Value Handle(Napi::Env env, const pm_region &region, Mapping *mapping, napi_value buffer) {
  static const struct {
    const char *name;
    napi_callback fn;
  } kFunctions[] = {{"malloc", Unary<uint32_t, pm_malloc>},
                    {"calloc", Unary<uint32_t, pm_calloc>},
                    {"realloc", Realloc},
                    {"free", Unary<int, pm_free>},
                    {"arenaAlloc", ArenaAlloc},
                    {"arenaFree", Unary<int, pm_arena_free>},
                    {"trim", Trim},
                    {"residentBytes", ResidentBytes},
                    {"close", Close}};
  RegionState *state = new RegionState{region, mapping, nullptr, 1};
  napi_create_reference(env, buffer, 0, &state->buffer);
  Napi::Object handle = Napi::Object::New(env);
  napi_add_finalizer(env, handle, state, FinalizeState, nullptr, nullptr);
  handle.Set("buffer", Napi::Value(env, buffer));
  for (const auto &f : kFunctions) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, state, &fn);
    state->refs++;
    napi_add_finalizer(env, fn, state, FinalizeState, nullptr, nullptr);
    handle.Set(f.name, Napi::Value(env, fn));
  }
  return handle;
}

// attachRegion(view, fresh, holder): a handle over a shared heap's region, the SharedArrayBuffer under
// `view` (a Uint8Array over all of it). Node-API on Node 20 cannot make a SharedArrayBuffer, and an
// external ArrayBuffer is copied, never shared, by postMessage; so the region is a SharedArrayBuffer made
// in JavaScript, whose memory napi_get_typedarray_info gives here (napi_get_arraybuffer_info refuses
// SharedArrayBuffers). `fresh`: write a new region's metadata (the creating thread); else adopt the one
// there. `holder` is the thread's slot + 1, written into HDR_LOCK while it runs an operation. V8 frees the
// memory when the last thread drops the buffer; close() only ends this handle.
Napi::Value AttachRegion(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t offset;
  if (!info[0].IsTypedArray() ||
      napi_get_typedarray_info(env, info[0], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array ||
      offset != 0 || length < MIN_MAX_BYTES || length > (size_t)MAX_MAX_BYTES || length % SEGMENT_SIZE != 0) {
    ThrowWithCode(env, Napi::TypeError::New(env, "attachRegion wants a Uint8Array over a whole shared region"), "ERR_INVALID_ARG_TYPE");
    return env.Undefined();
  }
  uint32_t count = (uint32_t)(length / SEGMENT_SIZE);
  pm_region region;
  if (info[1].As<Napi::Boolean>().Value()) {
    pm_region_init(&region, static_cast<uint8_t *>(data), count);
  } else if (!pm_region_adopt(&region, static_cast<uint8_t *>(data), count, nullptr)) {
    ThrowWithCode(env, Napi::Error::New(env, "the shared region's header is not one of this layout"), "ERR_PYMEM_BAD_IMAGE");
    return env.Undefined();
  }
  region.holder = info[2].As<Napi::Number>().Uint32Value();
  return Handle(env, region, nullptr, buffer);
}

#ifndef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
// The C library's allocator, outside every region (CPython's documented I/O buffer example: memory that
// "escapes completely the Python memory manager"). systemMalloc(n) returns a Buffer over malloc(n)
// bytes (malloc(1) for 0, as PyMem_RawMalloc does), or null when malloc fails; its finalizer frees the
// memory. systemFree(buffer) detaches the Buffer's ArrayBuffer, so every view of it becomes empty
// instead of dangling, and V8 then releases the memory through that finalizer. lib/domains/system.ts validates
// both arguments (n at most buffer.constants.MAX_LENGTH, buffer one of its own).
// The Buffer's finalizer: the only place a system block's memory is freed, so it is freed exactly once.
void FreeSystemBlock(napi_env, void *data, void *) { std::free(data); }

// heap.system.malloc: memory V8 accounts as external, outside the region and its figures.
napi_value SystemMalloc(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double n = 0;
  napi_get_value_double(env, argv[0], &n);
  napi_value result;
  void *data = std::malloc(n == 0 ? 1 : (size_t)n);
  if (data == nullptr) {
    napi_get_null(env, &result);
    return result;
  }
  if (napi_create_external_buffer(env, (size_t)n, data, FreeSystemBlock, nullptr, &result) != napi_ok) {
    napi_get_null(env, &result);  // Node calls the finalizer when it refuses: the memory is already freed
  }
  return result;
}

// Detaching makes every view empty at once; the memory itself goes when V8 runs the finalizer.
napi_value SystemFree(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_value arraybuffer;
  napi_get_typedarray_info(env, argv[0], nullptr, nullptr, nullptr, &arraybuffer, nullptr);
  napi_detach_arraybuffer(env, arraybuffer);
  return nullptr;
}
#endif

// The layout constants as compiled, which lib/raw/native.ts compares with its own to refuse a stale addon.
Napi::Object LayoutTable(Napi::Env env) {
  Napi::Object table = Napi::Object::New(env);
#define PM_EXPORT_CONSTANT(name) table.Set(#name, Napi::Number::New(env, (double)(name)));
  PM_LAYOUT_TABLE(PM_EXPORT_CONSTANT)
#undef PM_EXPORT_CONSTANT
  table.Set("PAGE_SIZE", Napi::Number::New(env, PM_PAGE_SIZE));
  return table;
}

// The module's exports: createRegion, openRegion, the layout table and, where external buffers are allowed, the system allocator.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("createRegion", Napi::Function::New(env, CreateRegion, "createRegion"));
  exports.Set("openRegion", Napi::Function::New(env, OpenRegion, "openRegion"));
  exports.Set("attachRegion", Napi::Function::New(env, AttachRegion, "attachRegion"));
  exports.Set("layout", LayoutTable(env));
#ifndef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
  for (const auto &f : {std::make_pair("systemMalloc", SystemMalloc), std::make_pair("systemFree", SystemFree)}) {
    napi_value fn;
    napi_create_function(env, f.first, NAPI_AUTO_LENGTH, f.second, nullptr, &fn);
    exports.Set(f.first, Napi::Value(env, fn));
  }
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(pymem, Init)
