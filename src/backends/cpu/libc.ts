// The few libc calls the native backend needs, through koffi. Pointers travel as numbers
// (addresses fit in 53 bits on every 64-bit OS we target).
import koffi from 'koffi';

const libc = koffi.load(process.platform === 'darwin' ? 'libc.dylib' : 'libc.so.6');

export const PROT_READ = 0x1;
export const MAP_PRIVATE = 0x2;
export const O_RDONLY = 0;

export const malloc = libc.func('uintptr_t malloc(size_t)') as (bytes: number) => number;
export const free = libc.func('void free(uintptr_t)') as (ptr: number) => void;
export const memcpyToNative = libc.func('void* memcpy(uintptr_t, _In_ void*, size_t)') as (dst: number, src: ArrayBufferView, n: number) => unknown;
export const mmap = libc.func('uintptr_t mmap(uintptr_t, size_t, int, int, int, int64_t)') as (
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
) => number;
export const munmap = libc.func('int munmap(uintptr_t, size_t)') as (addr: number, len: number) => number;
export const open = libc.func('int open(const char*, int)') as (path: string, flags: number) => number;
export const close = libc.func('int close(int)') as (fd: number) => number;

/** mmap's MAP_FAILED ((void*)-1) as koffi returns it for uintptr_t. */
export function mapFailed(addr: number): boolean {
  return addr >= 2 ** 63 || addr === -1;
}

/** An ArrayBuffer over native memory (no copy); valid while the memory is. */
export function nativeView(addr: number, bytes: number): ArrayBuffer {
  return koffi.view(addr, bytes);
}
