#!/bin/sh
curl -H "Reactor-API-Key: rp_F8UNptx6lBjLBWgxCQPLP3DnEIKDYhRf" https://api.reactor.inc/v1/partner
export REACTOR_API_KEY='rk_dazWu5JkKROHdd4o0xbNBlN223Aj7VvE'
