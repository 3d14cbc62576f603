package attach

import "strings"

// MethodSeparator separates the Methods of one attachment on one line. A
// method may itself contain commas ("connect cgroup connect4,connect6").
const MethodSeparator = "; "

// JoinMethods is how status methods read on one line, in `temblorctl
// describe` and `temblorctl exec` alike.
func JoinMethods(methods []string) string { return strings.Join(methods, MethodSeparator) }
