package router

import "github.com/bulwark-router/bulwark/config"

func personaLikeRoutes() []config.Route {
	return []config.Route{
		{Match: config.Match{Path: "/verify", Methods: []string{"POST"}}, Backend: "verifier"},
		{Match: config.Match{Paths: []string{"/wsapi/stage_user", "/wsapi/complete_user_creation", "/wsapi/update_password"}}, Backend: "dbwriter"},
		{Match: config.Match{PathPrefix: "/wsapi/", Host: "host.example"}, Backend: "browserid"},
		{Match: config.Match{PathPrefix: "/wsapi/"}, Backend: "browserid"},
		{Match: config.Match{}, Backend: "static"},
	}
}
