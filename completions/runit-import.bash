# bash completion for runit-import (runit-rs).
#
# Completes runit-import's options, directories after --to and
# --unit-path, files after --env-file, and units: the .service and
# .socket files of the unit directories (those given with --unit-path, or
# systemd's standard ones), .service shown without its suffix. Words with
# a / complete as paths.

_runit_import_units() {
    local cur=$1 d f name
    shift
    for d in "$@"; do
        [[ -d $d ]] || continue
        for f in "$d"/"$cur"*.service "$d"/"$cur"*.socket; do
            [[ -e $f ]] || continue
            name=${f##*/}
            printf '%s\n' "${name%.service}"
        done
    done | sort -u
}

_runit_import() {
    local cur prev i
    local -a dirs=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()

    case $prev in
        --to|--unit-path)
            COMPREPLY=($(compgen -d -- "$cur"))
            return 0
            ;;
        --env-file)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '--to --unit-path --force --dry-run --strict --env-file --help --version' -- "$cur"))
        return 0
    fi
    if [[ $cur == */* || $cur == .* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == --unit-path ]] && dirs+=("${COMP_WORDS[i+1]}")
    done
    if ((${#dirs[@]} == 0)); then
        dirs=(/etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system /lib/systemd/system /usr/lib/systemd/system)
    fi
    local IFS=$'\n'
    COMPREPLY=($(_runit_import_units "$cur" "${dirs[@]}"))
    return 0
}
complete -F _runit_import runit-import
