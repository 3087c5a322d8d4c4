# bash completion for provctl. Install: add this line to ~/.bashrc
#   eval "$(provctl completion bash)"
# Every TAB runs `provctl __complete bash …`, which reads names from the database read-only
# and answers nothing when it is missing.
_provctl() {
    local -a reply
    mapfile -t reply < <(command "$1" __complete bash "${COMP_LINE:0:COMP_POINT}" "$2" 2>/dev/null)
    COMPREPLY=()
    case ${reply[0]-} in
        files)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
        values)
            COMPREPLY=("${reply[@]:1}") ;;
    esac
    return 0
}
complete -o nosort -F _provctl provctl 2>/dev/null || complete -F _provctl provctl
