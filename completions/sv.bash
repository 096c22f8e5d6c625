# bash completion for sv (runit-rs).
#
# Completes sv's options, its command words, and service names: the
# entries of $SVDIR (default /etc/service/, the build-time default) that
# are directories or symlinks to directories and do not start with a dot,
# as runsvdir sees them. Paths (words starting with / or .) complete as
# directories.

_sv_commands='status up down once pause cont hup alarm interrupt quit 1 2 term kill exit start stop reload restart shutdown force-stop force-reload force-restart force-shutdown try-restart check'

# Prints the service names in $SVDIR starting with $1, one per line.
_sv_services() {
    local dir=${SVDIR:-/etc/service/} entry name
    [[ -d $dir ]] || return 0
    for entry in "${dir%/}"/"$1"*; do
        [[ -d $entry ]] || continue
        name=${entry##*/}
        [[ $name == .* ]] && continue
        printf '%s\n' "$name"
    done
}

_sv() {
    local cur prev i have_command=
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()

    if [[ $prev == -w ]]; then
        return 0 # seconds
    fi
    # Options come before the command; the first other word is the command.
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -w) ((i++)) ;;
            -*) ;;
            *) have_command=1; break ;;
        esac
    done

    if [[ -z $have_command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '-v -w -j -V' -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_sv_commands" -- "$cur"))
        fi
        return 0
    fi
    case $cur in
        /*|.*)
            COMPREPLY=($(compgen -d -- "$cur"))
            ;;
        *)
            local IFS=$'\n'
            COMPREPLY=($(_sv_services "$cur"))
            ;;
    esac
    return 0
}
complete -F _sv sv
