set -euo pipefail
family='rhel' name='redis-tls-root'
if [ "$family" = auto ]; then
  if command -v update-ca-certificates >/dev/null; then family=debian
  elif command -v update-ca-trust >/dev/null; then family=rhel
  else
    echo "neither update-ca-certificates nor update-ca-trust is installed; install ca-certificates or set osFamily" >&2
    exit 1
  fi
fi
case "$family" in
  debian) anchor="/usr/local/share/ca-certificates/$name.crt"; refresh() { update-ca-certificates --fresh >/dev/null; } ;;
  rhel) anchor="/etc/pki/ca-trust/source/anchors/$name.pem"; refresh() { update-ca-trust extract; } ;;
esac
if [ -e "$anchor" ]; then
  rm -f "$anchor"
  refresh
fi
rm -f '/etc/myapp/redis-ca.pem'
