#compdef provctl
# zsh completion for provctl. Install: add this line to ~/.zshrc (after compinit, if you run it)
#   eval "$(provctl completion zsh)"
# or save this output as _provctl in a directory of your $fpath.
# Every TAB runs `provctl __complete zsh …`, which reads names from the database read-only
# and answers nothing when it is missing.
_provctl() {
    local -a reply values shown
    local line value desc
    local -i width=0
    reply=("${(@f)$(command ${(Q)words[1]} __complete zsh -- "${(@Q)words[2,CURRENT-1]}" "${(Q)PREFIX}" 2>/dev/null)}")
    case $reply[1] in
        files) [[ $PREFIX == -*=* ]] && compset -P '*='; _files; return ;;
        values) ;;
        *) return 1 ;;
    esac
    for line in "${(@)reply[2,-1]}"; do
        value=${line%%$'\t'*}
        values+=("$value")
        (( ${#value} > width )) && width=${#value}
    done
    (( $#values )) || return 1
    for line in "${(@)reply[2,-1]}"; do
        value=${line%%$'\t'*}
        desc=${line#*$'\t'}
        [[ $desc == "$line" ]] && desc=
        shown+=("${(r:width:)value}${desc:+  -- $desc}")
    done
    compadd -M 'm:{[:lower:]}={[:upper:]}' -l -d shown -- "${values[@]}"
}
if [[ $funcstack[1] == _provctl ]]; then
    _provctl "$@"  # autoloaded from $fpath
else
    (( $+functions[compdef] )) || { autoload -Uz compinit && compinit }
    compdef _provctl provctl
fi
