# Sums the input sections of a GNU ld map file by component and kind.
# Prints "component kind bytes" lines; component is "lib" (libmfp_oauth.a),
# "c" (the firmware's own objects), "libc" (newlib, libgcc); kind is text,
# rodata, data or bss. Only allocated sections after "Linker script and
# memory map" count (the discarded ones are listed before it).
function kind(sec) {
  if (sec ~ /^\.text/ || sec ~ /^\.ARM\.ex/ || sec ~ /^\.init$/ || sec ~ /^\.fini$/) return "text"
  if (sec ~ /^\.rodata/ || sec ~ /^\.(init|fini|preinit)_array/ || sec ~ /^\.isr_vector/) return "rodata"
  if (sec ~ /^\.data/) return "data"
  if (sec ~ /^\.bss/ || sec == "COMMON") return "bss"
  return ""
}
function component(file) {
  if (file ~ /libmfp_oauth\.a\(/) return "lib"
  if (file ~ /\.o$/ && file !~ /\.a\(/) return "c"
  return "libc"
}
# Hexadecimal "0x1f4" to a number (portable: mawk has no strtonum).
function hex(s,   i, n, c) {
  n = 0
  s = tolower(substr(s, 3))
  for (i = 1; i <= length(s); i++) {
    c = index("0123456789abcdef", substr(s, i, 1)) - 1
    n = n * 16 + c
  }
  return n
}
function add(sec, size, file,   k) {
  k = kind(sec)
  if (k == "" || file == "") return
  total[component(file) " " k] += hex(size)
}
/^Linker script and memory map/ { inmap = 1; next }
!inmap { next }
# An input section whose name fills the line; its numbers follow on the next.
/^ [.A-Za-z_][^ ]*$/ { pending = $1; next }
/^ [.A-Za-z_][^ ]* +0x[0-9a-f]+ +0x[0-9a-f]+ +[^ ]/ { add($1, $3, $4); pending = ""; next }
/^ +0x[0-9a-f]+ +0x[0-9a-f]+ +[^ ]/ { if (pending != "") add(pending, $2, $3); pending = ""; next }
{ pending = "" }
END { for (key in total) print key, total[key] }
