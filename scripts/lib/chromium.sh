# Headless Chromium for the web console's browser tests (integration/console_test.go). Source
# it; it sets nothing in motion by itself.
#
#   source scripts/lib/chromium.sh
#   chromium_ensure     # installs Debian's `chromium` package when /usr/bin/chromium is missing;
#                       # exports FABMARKET_CHROMIUM (the binary the tests launch)
#
# Installing needs root and the Debian mirror; apt-get waits up to 5 min for a dpkg lock that
# another installer holds. CHROMIUM_NO_INSTALL=1 only looks. The tests launch the browser
# themselves (headless, --no-sandbox as root, a fresh profile directory each run).

# chromium_ensure: sets and exports FABMARKET_CHROMIUM; returns non-zero when no browser can be
# found or installed.
chromium_ensure() {
  local bin
  for bin in "${FABMARKET_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [[ -n $bin && -x $bin ]]; then
      export FABMARKET_CHROMIUM=$bin
      return 0
    fi
  done
  if [[ ${CHROMIUM_NO_INSTALL:-0} == 1 ]]; then
    echo "chromium.sh: /usr/bin/chromium not found and CHROMIUM_NO_INSTALL=1" >&2
    return 1
  fi
  if [[ $EUID -ne 0 ]]; then
    echo "chromium.sh: /usr/bin/chromium not found; install Debian's chromium package (needs root)" >&2
    return 1
  fi
  echo "chromium.sh: installing Debian's chromium package" >&2
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq)
  "${apt[@]}" update >&2 || return 1
  "${apt[@]}" install -y --no-install-recommends chromium fonts-dejavu-core >&2 || return 1
  if [[ ! -x /usr/bin/chromium ]]; then
    echo "chromium.sh: the chromium package installed no /usr/bin/chromium" >&2
    return 1
  fi
  export FABMARKET_CHROMIUM=/usr/bin/chromium
}
