# bash completion for throttlewatch. The options come from the binary's own per-command help
# ('throttlewatch COMMAND --help'), so they cannot drift from it.
_throttlewatch() {
  local cur prev cmd
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "replay live changepoints verify demo help version" -- "$cur")
    return
  fi
  cmd=${COMP_WORDS[1]}
  case $prev in
    -i|--interface)
      mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")
      return ;;
    --user)
      mapfile -t COMPREPLY < <(compgen -u -- "$cur")
      return ;;
  esac
  if [[ $cur == -* ]]; then
    local opts
    opts=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null | grep -oE -- '(^|[ ,(])--?[a-z][a-z0-9-]*' |
           sed 's/^[ ,(]//' | sort -u)
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return
  fi
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -F _throttlewatch throttlewatch
