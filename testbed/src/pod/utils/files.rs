//! File utilities over the pod's filesystem: `ls`, `rm`, `mkdir`, `rmdir`, `touch`, `cp`,
//! `mv`, `chmod`/`chown` (no-ops on existing files), `basename`, `dirname`.

use super::getopt;
use crate::pod::{Fs, FsError, ProcCtx};

fn args(ctx: &ProcCtx) -> Vec<String> {
    ctx.argv.get(1..).unwrap_or_default().to_vec()
}

/// Parses options or reports `tool: invalid option -- 'x'` (returns exit code 1 then).
async fn options(ctx: &mut ProcCtx, tool: &str, known: &str) -> Result<(Vec<char>, Vec<String>), i32> {
    match getopt(&args(ctx), known, "") {
        Ok((opts, rest)) => Ok((opts.into_iter().map(|(c, _)| c).collect(), rest)),
        Err(c) => {
            ctx.err(format!("{tool}: invalid option -- '{c}'\n")).await;
            Err(1)
        }
    }
}

fn long_entry(fs: &Fs, path: &str, name: &str) -> String {
    let (kind, size) = if fs.is_dir(path) {
        ("drwxr-xr-x", 4096)
    } else {
        ("-rw-r--r--", fs.read_file(path).map_or(0, |d| d.len()))
    };
    format!("{kind} 1 root root {size:>8} Jan  1 00:00 {name}\n")
}

pub(super) async fn ls(mut ctx: ProcCtx) -> i32 {
    let (flags, mut paths) = match options(&mut ctx, "ls", "1aAldFhrt").await {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let (all, long, dir_itself) =
        (flags.contains(&'a') || flags.contains(&'A'), flags.contains(&'l'), flags.contains(&'d'));
    if paths.is_empty() {
        paths.push(".".into());
    }
    let fs = ctx.pod.fs().clone();
    let (mut out, mut status) = (String::new(), 0);
    let many = paths.len() > 1;
    for (i, p) in paths.iter().enumerate() {
        let full = ctx.path(p);
        if !fs.exists(&full) {
            ctx.err(format!("ls: cannot access '{p}': No such file or directory\n")).await;
            status = 2;
            continue;
        }
        if dir_itself || !fs.is_dir(&full) {
            out.push_str(&if long { long_entry(&fs, &full, p) } else { format!("{p}\n") });
            continue;
        }
        if many {
            out.push_str(&format!("{}{p}:\n", if i > 0 { "\n" } else { "" }));
        }
        for name in fs.list_dir(&full).unwrap_or_default().into_iter().filter(|n| all || !n.starts_with('.'))
        {
            let child = crate::pod::fs::join(&full, &name);
            out.push_str(&if long { long_entry(&fs, &child, &name) } else { format!("{name}\n") });
        }
    }
    if !ctx.out(out).await {
        return 2;
    }
    status
}

pub(super) async fn rm(mut ctx: ProcCtx) -> i32 {
    let (flags, paths) = match options(&mut ctx, "rm", "frRiv").await {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let force = flags.contains(&'f');
    let recursive = flags.contains(&'r') || flags.contains(&'R');
    if paths.is_empty() && !force {
        ctx.err("rm: missing operand\n").await;
        return 1;
    }
    let mut status = 0;
    for p in &paths {
        let full = ctx.path(p);
        let fs = ctx.pod.fs().clone();
        let problem = if !fs.exists(&full) {
            (!force).then_some(FsError::NotFound)
        } else if fs.is_dir(&full) && !recursive {
            Some(FsError::IsADirectory)
        } else {
            fs.remove(&full).err()
        };
        if let Some(e) = problem {
            ctx.err(format!("rm: cannot remove '{p}': {e}\n")).await;
            status = 1;
        }
    }
    status
}

pub(super) async fn mkdir(mut ctx: ProcCtx) -> i32 {
    let Ok((opts, paths)) = getopt(&args(&ctx), "pv", "m") else {
        ctx.err("mkdir: invalid option\n").await;
        return 1;
    };
    let parents = opts.iter().any(|(c, _)| *c == 'p');
    if paths.is_empty() {
        ctx.err("mkdir: missing operand\n").await;
        return 1;
    }
    let mut status = 0;
    for p in &paths {
        let full = ctx.path(p);
        let result = if parents { ctx.pod.fs().mkdir_p(&full) } else { ctx.pod.fs().mkdir(&full) };
        if let Err(e) = result {
            ctx.err(format!("mkdir: cannot create directory '{p}': {e}\n")).await;
            status = 1;
        }
    }
    status
}

pub(super) async fn rmdir(mut ctx: ProcCtx) -> i32 {
    let mut status = 0;
    for p in args(&ctx) {
        let full = ctx.path(&p);
        if let Err(e) = ctx.pod.fs().rmdir(&full) {
            ctx.err(format!("rmdir: failed to remove '{p}': {e}\n")).await;
            status = 1;
        }
    }
    status
}

/// Apparent size of a file, or of a directory tree with 4096 bytes per directory (ext4).
fn tree_bytes(fs: &Fs, path: &str) -> u64 {
    if !fs.is_dir(path) {
        return fs.read_file(path).map_or(0, |d| d.len() as u64);
    }
    let children = fs.list_dir(path).unwrap_or_default();
    4096 + children.iter().map(|n| tree_bytes(fs, &crate::pod::fs::join(path, n))).sum::<u64>()
}

/// `du [-s] [-b|-k|-h] PATH…`: one line per operand (`-s`), or per directory below it.
pub(super) async fn du(mut ctx: ProcCtx) -> i32 {
    let (flags, mut paths) = match options(&mut ctx, "du", "sbkhc").await {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    if paths.is_empty() {
        paths.push(".".into());
    }
    let show = |bytes: u64| {
        if flags.contains(&'b') {
            bytes.to_string()
        } else if flags.contains(&'h') {
            match bytes {
                b if b < 1024 => b.to_string(),
                b if b < 1024 * 1024 => format!("{:.1}K", b as f64 / 1024.0),
                b => format!("{:.1}M", b as f64 / 1024.0 / 1024.0),
            }
        } else {
            bytes.div_ceil(1024).to_string()
        }
    };
    let fs = ctx.pod.fs().clone();
    let (mut out, mut status, mut total) = (String::new(), 0, 0);
    for p in &paths {
        let full = ctx.path(p);
        if !fs.exists(&full) {
            ctx.err(format!("du: cannot access '{p}': No such file or directory\n")).await;
            status = 1;
            continue;
        }
        if !flags.contains(&'s') && fs.is_dir(&full) {
            let mut dirs: Vec<String> = fs.list_dir(&full).unwrap_or_default();
            dirs.retain(|n| fs.is_dir(&crate::pod::fs::join(&full, n)));
            for d in dirs {
                let child = crate::pod::fs::join(&full, &d);
                out.push_str(&format!(
                    "{}\t{}/{d}\n",
                    show(tree_bytes(&fs, &child)),
                    p.trim_end_matches('/')
                ));
            }
        }
        let bytes = tree_bytes(&fs, &full);
        total += bytes;
        out.push_str(&format!("{}\t{p}\n", show(bytes)));
    }
    if flags.contains(&'c') {
        out.push_str(&format!("{}\ttotal\n", show(total)));
    }
    if !ctx.out(out).await {
        return 1;
    }
    status
}

pub(super) async fn touch(mut ctx: ProcCtx) -> i32 {
    let mut status = 0;
    for p in args(&ctx).iter().filter(|a| !a.starts_with('-')) {
        let full = ctx.path(p);
        if !ctx.pod.fs().exists(&full)
            && let Err(e) = ctx.pod.fs().create(&full, false)
        {
            ctx.err(format!("touch: cannot touch '{p}': {e}\n")).await;
            status = 1;
        }
    }
    status
}

/// Copies a file or (with `recursive`) a tree — iteratively, however deep it is.
fn copy(fs: &Fs, from: &str, to: &str, recursive: bool) -> Result<(), String> {
    if fs.is_dir(from) && !recursive {
        return Err(format!("-r not specified; omitting directory '{from}'"));
    }
    if fs.is_dir(from) && (to == from || to.starts_with(&format!("{from}/"))) {
        return Err(format!("cannot copy a directory, '{from}', into itself, '{to}'"));
    }
    let mut todo = vec![(from.to_string(), to.to_string())];
    while let Some((from, to)) = todo.pop() {
        if fs.is_dir(&from) {
            fs.mkdir_p(&to).map_err(|e| format!("cannot create directory '{to}': {e}"))?;
            for name in fs.list_dir(&from).unwrap_or_default() {
                todo.push((format!("{from}/{name}"), format!("{to}/{name}")));
            }
            continue;
        }
        let data = fs.read(&from).map_err(|e| format!("cannot stat '{from}': {e}"))?;
        fs.create(&to, true)
            .and_then(|()| fs.append_file(&to, &data))
            .map_err(|e| format!("cannot create regular file '{to}': {e}"))?;
    }
    Ok(())
}

async fn copy_or_move(mut ctx: ProcCtx, tool: &str, remove: bool) -> i32 {
    let (flags, mut paths) = match options(&mut ctx, tool, "rRafpnvT").await {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let recursive = remove || flags.iter().any(|c| matches!(c, 'r' | 'R' | 'a'));
    let Some(dest) = paths.pop().filter(|_| !paths.is_empty()) else {
        ctx.err(format!("{tool}: missing file operand\n")).await;
        return 1;
    };
    let fs = ctx.pod.fs().clone();
    let dest_full = ctx.path(&dest);
    let into_dir = fs.is_dir(&dest_full);
    if paths.len() > 1 && !into_dir {
        ctx.err(format!("{tool}: target '{dest}' is not a directory\n")).await;
        return 1;
    }
    let mut status = 0;
    for src in &paths {
        let from = ctx.path(src);
        let name = from.rsplit('/').next().unwrap_or_default();
        let to = if into_dir { crate::pod::fs::join(&dest_full, name) } else { dest_full.clone() };
        let result = copy(&fs, &from, &to, recursive).and_then(|()| {
            if remove { fs.remove(&from).map_err(|e| format!("cannot remove '{src}': {e}")) } else { Ok(()) }
        });
        if let Err(msg) = result {
            ctx.err(format!("{tool}: {msg}\n")).await;
            status = 1;
        }
    }
    status
}

pub(super) async fn cp(ctx: ProcCtx) -> i32 {
    copy_or_move(ctx, "cp", false).await
}

pub(super) async fn mv(ctx: ProcCtx) -> i32 {
    copy_or_move(ctx, "mv", true).await
}

/// `chmod`/`chown`: permissions aren't modelled; succeeds when the files exist.
pub(super) async fn chmod(mut ctx: ProcCtx) -> i32 {
    let tool = ctx.argv.first().cloned().unwrap_or_default();
    let operands: Vec<String> = args(&ctx).into_iter().filter(|a| !a.starts_with('-')).skip(1).collect();
    let mut status = 0;
    for p in operands {
        if !ctx.pod.fs().exists(&ctx.path(&p)) {
            ctx.err(format!("{tool}: cannot access '{p}': No such file or directory\n")).await;
            status = 1;
        }
    }
    status
}

pub(super) async fn basename(mut ctx: ProcCtx) -> i32 {
    let args = args(&ctx);
    let Some(path) = args.first() else {
        ctx.err("basename: missing operand\n").await;
        return 1;
    };
    let trimmed = path.trim_end_matches('/');
    let mut base = if trimmed.is_empty() && !path.is_empty() {
        "/"
    } else {
        trimmed.rsplit('/').next().unwrap_or_default()
    };
    if let Some(suffix) = args.get(1) {
        base = base.strip_suffix(suffix.as_str()).filter(|b| !b.is_empty()).unwrap_or(base);
    }
    i32::from(!ctx.out(format!("{base}\n")).await)
}

pub(super) async fn dirname(mut ctx: ProcCtx) -> i32 {
    let Some(path) = ctx.argv.get(1).cloned() else {
        ctx.err("dirname: missing operand\n").await;
        return 1;
    };
    let trimmed = path.trim_end_matches('/');
    let dir = match trimmed.rsplit_once('/') {
        None if path.starts_with('/') => "/",
        None => ".",
        Some((head, _)) => match head.trim_end_matches('/') {
            "" => "/",
            h => h,
        },
    };
    i32::from(!ctx.out(format!("{dir}\n")).await)
}
