package controllers

// AbortURLAllowed exposes abortURLAllowed to the external test package.
var AbortURLAllowed = abortURLAllowed
