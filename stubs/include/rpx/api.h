/*
 * rpx/api.h: RPX_API, the mark of a function librpx exports. librpx is
 * built with hidden visibility; the functions of its public headers are
 * the only ones a program sees. A program may define RPX_API itself first.
 */
#ifndef RPX_API_H
#define RPX_API_H

#ifndef RPX_API
#if defined(__GNUC__)
#define RPX_API __attribute__((visibility("default")))
#else
#define RPX_API
#endif
#endif

#endif
