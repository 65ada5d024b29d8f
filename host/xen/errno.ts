/**
 * Error numbers of the Xen hypercall interface, as xen/include/public/errno.h defines them
 * (XEN_EPERM ... XEN_ETIMEDOUT; the values come from x86 Linux). A hypercall returns 0 or a
 * non-negative result on success and the NEGATED value on failure: `return -XEN_EINVAL`.
 *
 * EINTR (4) and ERESTART (85) are internal to Xen in that header ("should never be exposed to
 * the guest") and are left out here for the same reason.
 */

/** Operation not permitted. */
export const XEN_EPERM = 1;
/** No such file or directory (also: no such vCPU in bind_virq). */
export const XEN_ENOENT = 2;
/** No such process (Xen: no such domain). */
export const XEN_ESRCH = 3;
/** I/O error. */
export const XEN_EIO = 5;
/** No such device or address. */
export const XEN_ENXIO = 6;
/** Argument list too long. */
export const XEN_E2BIG = 7;
/** Exec format error. */
export const XEN_ENOEXEC = 8;
/** Bad file number. */
export const XEN_EBADF = 9;
/** No child processes. */
export const XEN_ECHILD = 10;
/** Try again (also XEN_EWOULDBLOCK). */
export const XEN_EAGAIN = 11;
/** Out of memory. */
export const XEN_ENOMEM = 12;
/** Permission denied. */
export const XEN_EACCES = 13;
/** Bad address: a guest pointer that does not reach the guest's RAM. */
export const XEN_EFAULT = 14;
/** Device or resource busy. */
export const XEN_EBUSY = 16;
/** File exists (e.g. a VIRQ that is already bound). */
export const XEN_EEXIST = 17;
/** Cross-device link. */
export const XEN_EXDEV = 18;
/** No such device. */
export const XEN_ENODEV = 19;
/** Invalid argument. */
export const XEN_EINVAL = 22;
/** File table overflow. */
export const XEN_ENFILE = 23;
/** Too many open files. */
export const XEN_EMFILE = 24;
/** No space left on device (e.g. no free event-channel port). */
export const XEN_ENOSPC = 28;
/** Too many links. */
export const XEN_EMLINK = 31;
/** Math argument out of domain of func. */
export const XEN_EDOM = 33;
/** Math result not representable. */
export const XEN_ERANGE = 34;
/** Resource deadlock would occur (also XEN_EDEADLOCK). */
export const XEN_EDEADLK = 35;
/** File name too long. */
export const XEN_ENAMETOOLONG = 36;
/** No record locks available. */
export const XEN_ENOLCK = 37;
/** Function not implemented (an unknown hypercall or sub-operation). */
export const XEN_ENOSYS = 38;
/** Invalid request code. */
export const XEN_EBADRQC = 56;
/** Invalid slot. */
export const XEN_EBADSLT = 57;
/** No data available. */
export const XEN_ENODATA = 61;
/** Timer expired. */
export const XEN_ETIME = 62;
/** Not a data message. */
export const XEN_EBADMSG = 74;
/** Value too large for defined data type. */
export const XEN_EOVERFLOW = 75;
/** Illegal byte sequence. */
export const XEN_EILSEQ = 84;
/** Too many users. */
export const XEN_EUSERS = 87;
/** Socket operation on non-socket. */
export const XEN_ENOTSOCK = 88;
/** Operation not supported on transport endpoint. */
export const XEN_EOPNOTSUPP = 95;
/** Address already in use. */
export const XEN_EADDRINUSE = 98;
/** Cannot assign requested address. */
export const XEN_EADDRNOTAVAIL = 99;
/** No buffer space available. */
export const XEN_ENOBUFS = 105;
/** Transport endpoint is already connected. */
export const XEN_EISCONN = 106;
/** Transport endpoint is not connected. */
export const XEN_ENOTCONN = 107;
/** Cannot send after transport endpoint shutdown. */
export const XEN_ESHUTDOWN = 108;
/** Too many references: cannot splice. */
export const XEN_ETOOMANYREFS = 109;
/** Connection timed out. */
export const XEN_ETIMEDOUT = 110;

/** Alias of XEN_EAGAIN, as the header defines it. */
export const XEN_EWOULDBLOCK = XEN_EAGAIN;
/** Alias of XEN_EDEADLK, as the header defines it. */
export const XEN_EDEADLOCK = XEN_EDEADLK;

const NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 8: 'ENOEXEC',
  9: 'EBADF', 10: 'ECHILD', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT',
  16: 'EBUSY', 17: 'EEXIST', 18: 'EXDEV', 19: 'ENODEV', 22: 'EINVAL', 23: 'ENFILE',
  24: 'EMFILE', 28: 'ENOSPC', 31: 'EMLINK', 33: 'EDOM', 34: 'ERANGE', 35: 'EDEADLK',
  36: 'ENAMETOOLONG', 37: 'ENOLCK', 38: 'ENOSYS', 56: 'EBADRQC', 57: 'EBADSLT', 61: 'ENODATA',
  62: 'ETIME', 74: 'EBADMSG', 75: 'EOVERFLOW', 84: 'EILSEQ', 87: 'EUSERS', 88: 'ENOTSOCK',
  95: 'EOPNOTSUPP', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL', 105: 'ENOBUFS', 106: 'EISCONN',
  107: 'ENOTCONN', 108: 'ESHUTDOWN', 109: 'ETOOMANYREFS', 110: 'ETIMEDOUT',
};

/**
 * The name of a hypercall result for traces: "0", "-EINVAL", or the plain number when it is
 * not an errno ("-999"). Accepts the positive or the negated value.
 */
export function errnoName(rc: number): string {
  if (rc === 0) return '0';
  const name = NAMES[Math.abs(rc)];
  if (name === undefined) return String(rc);
  return rc < 0 ? `-${name}` : name;
}
