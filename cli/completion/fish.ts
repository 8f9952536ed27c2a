/**
 * `mcpd completion fish`: the same walk as bash's (cli/completion/bash.ts) in fish, as one
 * function that prints each candidate with its description; fish matches them against the
 * word typed. Names mcpd lists come from a command substitution, taken literally.
 */
import { type CommandSpec, flatten, valueKinds } from './tree.js';

/** A fish single-quoted word: only \ and ' are special inside. */
const quote = (text: string) => `'${text.replace(/[\\']/g, '\\$&')}'`;
/** A candidate and its description, as one word with a tab between (fish's own format). */
const described = (name: string, description: string) => `${quote(name)}\\t${quote(description)}`;

/** The script, for ~/.config/fish/completions/mcpd.fish. */
export function fishScript(root: CommandSpec, version: string): string {
  const cases = flatten(root).map(({ paths, spec }) => {
    const subs = spec.subcommands.flatMap((s) => s.names.map((n) => [n, s.description] as const));
    const opts = spec.options.flatMap((o) => o.flags.map((f) => [f, o.description] as const));
    const vars = [
      `set -g __mcpd_subnames ${subs.map(([n]) => quote(n)).join(' ')}`,
      `set -g __mcpd_subs ${subs.map(([n, d]) => described(n, d)).join(' ')}`,
      `set -g __mcpd_opts ${opts.map(([f, d]) => described(f, d)).join(' ')}`,
      `set -g __mcpd_valopts ${spec.options.filter((o) => o.takesValue).flatMap((o) => o.flags).map(quote).join(' ')}`,
      `set -g __mcpd_choices ${(Array.isArray(spec.argument) ? spec.argument : []).map(quote).join(' ')}`,
      `set -g __mcpd_arg ${typeof spec.argument === 'string' ? spec.argument : "''"}`,
    ];
    return `        case ${paths.map(quote).join(' ')}\n            ${vars.join('\n            ')}`;
  });
  const kinds = [...valueKinds(root)].map(([flag, kind]) => `        case ${quote(flag)}\n            echo ${kind}`);
  return `# mcpd ${version} completion for fish, generated from its commands by \`mcpd completion fish\`.
# Save it:  mcpd completion fish > ~/.config/fish/completions/mcpd.fish

function __mcpd_spec --argument-names cmdpath
    set -g __mcpd_subnames; set -g __mcpd_subs; set -g __mcpd_opts; set -g __mcpd_valopts; set -g __mcpd_choices; set -g __mcpd_arg ''
    switch "$cmdpath"
${cases.join('\n')}
    end
end

function __mcpd_value_kind --argument-names flag
    switch $flag
${kinds.join('\n')}
    end
end

function __mcpd_candidates
    set -l words (commandline -opc)
    set -e words[1]
    set -l cur (commandline -ct)
    set -l cmdpath ''
    set -l value_of ''
    set -l kind ''
    set -l args 0
    set -l config
    for word in $words
        if test -n "$value_of"
            contains -- $value_of -c --config; and set config --config $word
            set value_of ''
            continue
        end
        # After --, the words are an ad-hoc command's: offer paths.
        if test "$word" = --
            __fish_complete_path $cur
            return
        end
        __mcpd_spec $cmdpath
        if string match -q -- '-*' $word
            if not string match -q -- '*=*' $word; and contains -- $word $__mcpd_valopts
                set value_of $word
            end
        else if test $args -eq 0; and contains -- $word $__mcpd_subnames
            set cmdpath (string trim -- "$cmdpath $word")
        else
            set args (math $args + 1)
        end
    end
    __mcpd_spec $cmdpath
    if test -n "$value_of"
        set kind (__mcpd_value_kind $value_of)
    else if string match -q -- '-*' $cur
        printf '%s\\n' $__mcpd_opts
        return
    else if test $args -eq 0
        printf '%s\\n' $__mcpd_subs $__mcpd_choices
        set kind $__mcpd_arg
    end
    switch "$kind"
        case files
            __fish_complete_path $cur
        case servers secrets rotations
            mcpd $config __complete $kind 2>/dev/null </dev/null
    end
end

complete -c mcpd -f -a '(__mcpd_candidates)'
`;
}
