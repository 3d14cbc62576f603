package podresolve

// ReadNS exposes nsInode to the external tests.
var ReadNS = nsInode
