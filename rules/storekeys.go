package rules

// The live rules' keys in the limit store. They share the {rules} hash tag,
// so in a Redis Cluster they sit in one slot together.
const (
	// keyLive holds the signed document of the live rules: "SIG JSON",
	// SIG the hex HMAC-SHA256 of JSON under the fleet's secret.
	keyLive = "bulwark:{rules}:live"
	// keyVersion holds the version of the document in keyLive, for the
	// compare-and-set that stores a change (not trusted otherwise).
	keyVersion = "bulwark:{rules}:version"
)
