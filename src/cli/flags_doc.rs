//! The flag reference in `docs/configuration.md`, generated from the clap definition so it
//! cannot drift: a test renders every subcommand's arguments (flag, environment variable,
//! default, help) and compares them with the section between the markers; `UPDATE_DOCS=1`
//! rewrites it.

use clap::Command;

pub const BEGIN: &str = "<!-- flags:begin (generated from clap: UPDATE_DOCS=1 cargo test --lib flags) -->";
pub const END: &str = "<!-- flags:end -->";

/// One table per subcommand (nested ones as `ctl start`), the global flags first.
pub fn markdown(root: &Command) -> String {
    let mut out = String::new();
    out.push_str("Global: ");
    let globals: Vec<String> = root.get_arguments().filter(|a| a.is_global_set()).map(flag).collect();
    out.push_str(&globals.join(", "));
    out.push_str(".\n");
    for sub in root.get_subcommands().filter(|s| s.get_name() != "help") {
        section(&mut out, sub, sub.get_name());
    }
    out
}

fn section(out: &mut String, cmd: &Command, path: &str) {
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .filter(|a| !a.is_global_set() || path.split(' ').count() == 1 && a.get_id() == "api")
        .collect();
    out.push_str(&format!("\n`{path}` — {}\n\n", one_line(cmd.get_about())));
    if !args.is_empty() {
        out.push_str("| argument | env | default | what |\n|---|---|---|---|\n");
        for a in args {
            let defaults: Vec<String> =
                a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                flag(a),
                a.get_env().map(|e| format!("`{}`", e.to_string_lossy())).unwrap_or_default(),
                if defaults.is_empty() { String::new() } else { format!("`{}`", defaults.join(",")) },
                one_line(a.get_help()).replace('|', "\\|"),
            ));
        }
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        section(out, sub, &format!("{path} {}", sub.get_name()));
    }
}

fn flag(a: &clap::Arg) -> String {
    match a.get_long() {
        Some(long) => format!("`--{long}`"),
        None => format!("`{}`", a.get_id().as_str().to_uppercase()),
    }
}

fn one_line(text: Option<&clap::builder::StyledStr>) -> String {
    text.map(|t| t.to_string().split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_reference_lists_every_subcommands_flags_as_clap_defines_them() {
        let mut cmd = <super::super::Cli as clap::CommandFactory>::command();
        cmd.build();
        let generated = markdown(&cmd);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let (start, end) = (readme.find(BEGIN).expect("begin marker"), readme.find(END).expect("end marker"));
        let current = &readme[start + BEGIN.len()..end];
        let wanted = format!("\n{generated}");
        if current != wanted && std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{wanted}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        assert!(
            current == wanted,
            "docs/configuration.md's flag reference is stale: run UPDATE_DOCS=1 cargo test --lib flags"
        );
    }
}
