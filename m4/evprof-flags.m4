dnl Compiler flags probed at configure time.
dnl
dnl EVPROF_CHECK_CFLAG(FLAG, VARIABLE)
dnl   Append FLAG to VARIABLE when the C compiler accepts it (with -Werror, so
dnl   that a flag the compiler only warns about is not used).
AC_DEFUN([EVPROF_CHECK_CFLAG],
[AS_VAR_PUSHDEF([evprof_flag], [evprof_cv_cflag_$1])
 AC_CACHE_CHECK([whether $CC accepts $1], [evprof_flag],
   [evprof_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([evprof_flag], [yes])], [AS_VAR_SET([evprof_flag], [no])])
    CFLAGS=$evprof_save_CFLAGS])
 AS_VAR_IF([evprof_flag], [yes], [$2="$$2 $1"])
 AS_VAR_POPDEF([evprof_flag])])

dnl EVPROF_WARNINGS
dnl   Sets WARNINGS_CFLAGS: -Wall -Wextra -Werror and a few more, used on our
dnl   own code only. --disable-werror keeps the warnings but not -Werror.
AC_DEFUN([EVPROF_WARNINGS],
[AC_ARG_ENABLE([werror],
   [AS_HELP_STRING([--disable-werror], [do not treat warnings as errors])],
   [], [enable_werror=yes])
 WARNINGS_CFLAGS=
 for evprof_w in -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
     -Wmissing-prototypes -Wformat=2 -Wvla -Wundef -Wcast-align; do
   EVPROF_CHECK_CFLAG([$evprof_w], [WARNINGS_CFLAGS])
 done
 AS_IF([test "x$enable_werror" = xyes],
   [EVPROF_CHECK_CFLAG([-Werror], [WARNINGS_CFLAGS])])
 AC_SUBST([WARNINGS_CFLAGS])])

dnl EVPROF_PTHREAD
dnl   Sets PTHREAD_CFLAGS and PTHREAD_LIBS.
AC_DEFUN([EVPROF_PTHREAD],
[PTHREAD_CFLAGS=
 EVPROF_CHECK_CFLAG([-pthread], [PTHREAD_CFLAGS])
 PTHREAD_LIBS=$PTHREAD_CFLAGS
 evprof_save_LIBS=$LIBS
 LIBS="$LIBS $PTHREAD_LIBS"
 AC_SEARCH_LIBS([pthread_create], [pthread], [],
   [AC_MSG_ERROR([POSIX threads are required])])
 AS_IF([test "x$LIBS" != "x$evprof_save_LIBS $PTHREAD_LIBS"],
   [PTHREAD_LIBS="$PTHREAD_LIBS -lpthread"])
 LIBS=$evprof_save_LIBS
 AC_SUBST([PTHREAD_CFLAGS])
 AC_SUBST([PTHREAD_LIBS])])

dnl EVPROF_SANITIZE_FLAGS
dnl   Sets SANITIZE_CFLAGS to the ASan+UBSan flags the compiler accepts, for
dnl   `make check-sanitize'.
AC_DEFUN([EVPROF_SANITIZE_FLAGS],
[SANITIZE_CFLAGS=
 evprof_save_LDFLAGS=$LDFLAGS
 LDFLAGS="$LDFLAGS -fsanitize=address,undefined"
 EVPROF_CHECK_CFLAG([-fsanitize=address,undefined], [SANITIZE_CFLAGS])
 LDFLAGS=$evprof_save_LDFLAGS
 AS_IF([test -n "$SANITIZE_CFLAGS"],
   [SANITIZE_CFLAGS="$SANITIZE_CFLAGS -fno-sanitize-recover=all -fno-omit-frame-pointer"])
 AC_SUBST([SANITIZE_CFLAGS])])
