# Sourced by scripts/demo and scripts/test: whether the staff console's build (console/dist) is
# missing or older than any of its sources.

# console_build_stale: true (0) when console/dist/index.html is missing or a source is newer.
console_build_stale() {
    local stamp=console/dist/index.html
    [ ! -f "$stamp" ] || [ -n "$(find console/src console/index.html \
        console/package.json console/package-lock.json console/vite.config.ts \
        console/tsconfig.json console/tsconfig.app.json -newer "$stamp" -print -quit \
        2>/dev/null)" ]
}
