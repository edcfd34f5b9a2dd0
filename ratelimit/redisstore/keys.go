package redisstore

import "strings"

// The key space a fleet shares. Every key starts with "bulwark:"; the part
// in braces is its Redis Cluster hash tag, so keys that one script changes
// together hash to one slot (Redis runs a script only on keys of one
// slot). Other packages that share state through the store (reputation,
// token revocations, live rules) add their keys here, by these rules:
//
//   - Per-client state is tagged with the client, as ratelimit tracks it
//     (an IPv4 address or an IPv6 prefix's address): strikes, auth
//     failures, ban and reputation of one client share a slot, so one
//     script may read the counts and write the ban atomically.
//
//   - A policy's client bucket is tagged with the client's network bucket
//     when the policy has per_network (else with its own key), so the
//     client and network buckets one decision takes move together.
//
//   - Keys of different clients, accounts or tokens never share a script:
//     an account or token key lives in its own slot and is changed by a
//     script of its own (not atomic with the client's).
//
//     bulwark:rl:{NET}:POLICY:CLIENT  client bucket (GCRA tat), tagged by network
//     bulwark:rl:{POLICY:CLIENT}      client bucket of a policy without per_network
//     bulwark:rl:{NET}                network bucket, NET = POLICY-network:PREFIX/LEN
//     bulwark:ban:{CLIENT}            ban: "<level> <auth 0|1>", TTL = the ban
//     bulwark:strike:{CLIENT}         strikes toward a ban, TTL = abuse.ban.within
//     bulwark:auth:{CLIENT}           auth failures, TTL = abuse.auth_failures.within
//     bulwark:rep:{CLIENT}            reputation standing (a hash, see rep.go)
//     bulwark:revoked:{TOKEN}         a revoked token id, TTL = the token's life left
//     bulwark:{rules}:live, :version  live rules (package rules; one slot)
//     bulwark:bans, bulwark:revoked   pub/sub channels
const (
	bucketPrefix  = "bulwark:rl:"
	banPrefix     = "bulwark:ban:"
	strikePrefix  = "bulwark:strike:"
	authPrefix    = "bulwark:auth:"
	repPrefix     = "bulwark:rep:"
	revokedPrefix = "bulwark:revoked:"
	banChannel    = "bulwark:bans"
	// revokedChannel is a channel, no key: "bulwark:revoked:" prefixes keys.
	revokedChannel = "bulwark:revoked"
)

// tag wraps s as a hash tag. Braces inside s would end the tag early, so
// they become parentheses (no client or policy name holds one).
func tag(s string) string {
	if strings.ContainsAny(s, "{}") {
		s = strings.NewReplacer("{", "(", "}", ")").Replace(s)
	}
	return "{" + s + "}"
}

// bucketKeys are the keys of one decision's buckets: the client's (tagged
// with the network when there is one) and the network's.
func bucketKeys(client, net string) []string {
	if net == "" {
		return []string{bucketPrefix + tag(client)}
	}
	t := tag(net)
	return []string{bucketPrefix + t + ":" + client, bucketPrefix + t}
}

// ClientKey is the key of prefix's per-client state (prefix one of the
// per-client prefixes above, client as ratelimit tracks it).
func clientKey(prefix, client string) string { return prefix + tag(client) }

// untag is clientKey's inverse: the client of a key under prefix.
func untag(prefix, key string) string {
	s := strings.TrimPrefix(key, prefix)
	return strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
}

// RepKey and RevokedKey are the keys the reputation features share state
// under.
func RepKey(client string) string    { return clientKey(repPrefix, client) }
func RevokedKey(token string) string { return clientKey(revokedPrefix, token) }
