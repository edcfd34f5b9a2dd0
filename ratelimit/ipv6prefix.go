package ratelimit

// IPv6Prefix is client_ip.ipv6_prefix: the bits of an IPv6 address that
// name one client (the table's key). The bans API parses clients with it.
func (a *Admission) IPv6Prefix() int { return a.state.Load().abuse.v6bits }
