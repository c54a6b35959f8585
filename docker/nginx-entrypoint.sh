#!/bin/sh
# Entrypoint of the nginx container (docker/docker-compose.yml): writes /etc/nginx/resolver.conf
# with the container's DNS server, the first `nameserver` of /etc/resolv.conf (Docker's embedded
# DNS is 127.0.0.11, podman's the network's gateway), then runs nginx in the foreground.
# nginx.conf includes that file so it can look the replicas up again while it runs. Only the first
# server: nginx asks its resolvers in turn, and a host's own resolver does not know the service.
# Plain sh: it runs in the official nginx image and in one made from Debian's nginx-light.
set -eu
ns=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
[ -n "$ns" ] || { echo "nginx-entrypoint: no nameserver in /etc/resolv.conf" >&2; exit 1; }
case "$ns" in *:*) ns="[$ns]" ;; esac # an IPv6 server, in nginx's notation
echo "resolver $ns valid=5s ipv6=off;" >/etc/nginx/resolver.conf
echo "nginx-entrypoint: $(cat /etc/nginx/resolver.conf)"
exec nginx -g 'daemon off;'
