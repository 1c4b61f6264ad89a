# sluice.bash — bash completion for the sluice CLI.
# Install: source it from ~/.bashrc, or copy it to /usr/share/bash-completion/completions/sluice.
# Resource names are completed live with `sluice get KIND -o name` (quietly; nothing on error).

_sluice_commands="signup login whoami get describe create apply delete activate deactivate check explain logs events audit usage preview send set-role version help"
_sluice_kinds="streams connections pipelines secrets functions api-keys users"
_sluice_global="--profile --api-url --api-key --ca-file --insecure --timeout --output -o --help -h"

_sluice_options() {
  case $1 in
    signup) echo "--tenant --email --password --password-stdin" ;;
    login) echo "--email --password --password-stdin" ;;
    create) echo "--name --file -f --sql --sql-file --description --value --email --role --password --password-stdin" ;;
    apply) echo "--file -f --dry-run --prune" ;;
    activate|deactivate) echo "--wait" ;;
    logs) echo "--follow -f" ;;
    events|audit) echo "--limit" ;;
    usage) echo "--from --to --group-by" ;;
    preview) echo "--sql --sql-file --limit --start" ;;
    check) echo "--sample --save" ;;
    send) echo "--file -f" ;;
  esac
}

_sluice() {
  local cur prev cmd i
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$_sluice_commands --help --version" -- "$cur"))
    return
  fi
  cmd=${COMP_WORDS[1]}
  case $prev in
    -o|--output) COMPREPLY=($(compgen -W "table json yaml name" -- "$cur")); return ;;
    --file|--sql-file|--ca-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -f) if [ "$cmd" != logs ]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi ;;
    --group-by) COMPREPLY=($(compgen -W "resource minute hour day total" -- "$cur")); return ;;
    --role) COMPREPLY=($(compgen -W "owner admin member" -- "$cur")); return ;;
    --profile|--api-url|--api-key|--timeout|--name|--sql|--description|--value|--tenant|--email|--password|--from|--to|--limit|--start|--sample) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_sluice_options "$cmd") $_sluice_global" -- "$cur"))
    return
  fi
  # positional arguments: KIND, then NAME
  local args=()
  for ((i = 2; i < COMP_CWORD; i++)); do
    [[ ${COMP_WORDS[i]} == -* ]] && continue
    case ${COMP_WORDS[i-1]} in
      -o|--output|--file|--sql-file|--ca-file|--profile|--api-url|--api-key|--timeout|--name|--sql|--description|--value|--tenant|--email|--password|--from|--to|--group-by|--limit|--start|--sample|--role) continue ;;
      -f) [ "$cmd" != logs ] && continue ;;
    esac
    args+=("${COMP_WORDS[i]}")
  done
  case $cmd in
    get|describe|delete|create|activate|deactivate|check|logs|events)
      if [ ${#args[@]} -eq 0 ]; then
        case $cmd in
          activate|deactivate|logs|events) COMPREPLY=($(compgen -W "pipelines connections" -- "$cur")) ;;
          check) COMPREPLY=($(compgen -W "connections" -- "$cur")) ;;
          *) COMPREPLY=($(compgen -W "$_sluice_kinds" -- "$cur")) ;;
        esac
      elif [ ${#args[@]} -eq 1 ] && [ "$cmd" != create ]; then
        local names
        names=$(sluice get "${args[0]}" -o name 2>/dev/null | sed 's|^[^/]*/||')
        COMPREPLY=($(compgen -W "$names" -- "$cur"))
      fi
      ;;
    set-role)
      if [ ${#args[@]} -eq 0 ]; then
        local names
        names=$(sluice get users -o name 2>/dev/null | sed 's|^[^/]*/||')
        COMPREPLY=($(compgen -W "$names" -- "$cur"))
      elif [ ${#args[@]} -eq 1 ]; then
        COMPREPLY=($(compgen -W "owner admin member" -- "$cur"))
      fi
      ;;
    send)
      if [ ${#args[@]} -eq 0 ]; then
        local names
        names=$(sluice get connections -o name 2>/dev/null | sed 's|^[^/]*/||')
        COMPREPLY=($(compgen -W "$names" -- "$cur"))
      fi
      ;;
    explain) [ ${#args[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur")) ;;
    help) [ ${#args[@]} -eq 0 ] && COMPREPLY=($(compgen -W "$_sluice_commands" -- "$cur")) ;;
  esac
}
complete -F _sluice sluice
