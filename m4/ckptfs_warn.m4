# CK_WARN_ADD(FLAGS): append to WARN_CFLAGS each flag of FLAGS the C compiler accepts.
AC_DEFUN([CK_WARN_ADD], [
  for ck_flag in $1; do
    AC_MSG_CHECKING([whether $CC accepts $ck_flag])
    ck_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $ck_flag"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AC_MSG_RESULT([yes]); WARN_CFLAGS="$WARN_CFLAGS $ck_flag"],
      [AC_MSG_RESULT([no])])
    CFLAGS=$ck_save_CFLAGS
  done
])
