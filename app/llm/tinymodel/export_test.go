package tinymodel

// ReferenceEmbed exposes referenceEmbed to the external test package, which
// compares it with what the real server returns.
var ReferenceEmbed = referenceEmbed
