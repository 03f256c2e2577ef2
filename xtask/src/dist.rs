//! `cargo xtask dist`: the release tarball and the Debian package. The
//! release binary writes its own man pages and completions (`hostscope
//! generate`), so they describe exactly the binary they ship with. Both
//! archives are listed again once built, and the task fails if a file is
//! missing from either.
//!
//! System tools do the packing (`tar`, `gzip`, `dpkg-deb`, `dpkg-shlibdeps`):
//! they are on every Debian machine and produce what Debian's own tools
//! expect, which no crate would do better.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::bench::workspace_root;

/// The unit, relative to the workspace root.
const UNIT: &str = "dist/hostscope-export.service";

/// Where each generated or copied file goes, relative to the install
/// prefix: `/usr` in the .deb, `hostscope-VERSION/` in the tarball.
const BASH_COMPLETION: &str = "share/bash-completion/completions/hostscope";
const ZSH_COMPLETION: &str = "share/zsh/vendor-completions/_hostscope";
const FISH_COMPLETION: &str = "share/fish/vendor_completions.d/hostscope.fish";
const MAN_DIR: &str = "share/man/man1";

/// Man pages that must be there whatever else clap renders.
const REQUIRED_PAGES: &[&str] = &["hostscope.1.gz", "hostscope-export.1.gz"];

pub fn run() -> Result<()> {
    let root = workspace_root();
    let bin = build(&root)?;
    let version = version_of(&bin)?;
    let dist = root.join("target/dist");
    let work = dist.join("work");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("remove {}", work.display()))?;
    }
    fs::create_dir_all(&work).with_context(|| format!("create {}", work.display()))?;
    let bin = stripped(&bin, &work)?;

    let generated = generate(&bin, &work.join("generated"))?;
    let tarball = tarball(&root, &dist, &work, &bin, &version, &generated)?;
    let deb = deb(&root, &dist, &work, &bin, &version, &generated)?;

    verify_tarball(&tarball, &version)?;
    verify_deb(&deb)?;
    fs::remove_dir_all(&work).with_context(|| format!("remove {}", work.display()))?;

    println!();
    for path in [&tarball, &deb] {
        let size = fs::metadata(path)
            .with_context(|| format!("stat {}", path.display()))?
            .len();
        println!("{}  {}", path.display(), human(size));
    }
    Ok(())
}

/// Builds the release binary from the locked dependencies, as a release
/// must, and returns its path.
fn build(root: &Path) -> Result<PathBuf> {
    run_command(
        Command::new(env!("CARGO"))
            .args(["build", "--release", "--locked", "-p", "hostscope"])
            .current_dir(root),
    )?;
    let bin = root.join("target/release/hostscope");
    ensure!(
        bin.is_file(),
        "cargo build did not produce {}",
        bin.display()
    );
    Ok(bin)
}

/// A copy of the binary without its line tables (the release profile keeps
/// them for profiling): about a sixth of the size, and Debian ships
/// binaries stripped. Panics still name their functions.
fn stripped(bin: &Path, work: &Path) -> Result<PathBuf> {
    let copy = work.join("hostscope");
    fs::copy(bin, &copy)
        .with_context(|| format!("copy {} to {}", bin.display(), copy.display()))?;
    run_command(Command::new("strip").arg("--strip-debug").arg(&copy))
        .context("strip the binary (apt-get install binutils)")?;
    Ok(copy)
}

/// The version the binary reports (`hostscope 0.1.0`), which is what the
/// archives are named after.
fn version_of(bin: &Path) -> Result<String> {
    let out = command_output(Command::new(bin).arg("--version"))?;
    let version = out
        .trim()
        .strip_prefix("hostscope ")
        .with_context(|| format!("unexpected `hostscope --version` output: {out:?}"))?;
    ensure!(
        !version.is_empty() && !version.contains(['/', ' ']),
        "unexpected version {version:?} from `hostscope --version`"
    );
    Ok(version.to_owned())
}

/// The files `hostscope generate` makes, ready to copy.
struct Generated {
    /// Gzipped man pages (`hostscope.1.gz`, `hostscope-export.1.gz`, …).
    man_pages: Vec<PathBuf>,
    bash: PathBuf,
    zsh: PathBuf,
    fish: PathBuf,
}

fn generate(bin: &Path, dir: &Path) -> Result<Generated> {
    let man_dir = dir.join("man");
    fs::create_dir_all(&man_dir).with_context(|| format!("create {}", man_dir.display()))?;
    let listed = command_output(
        Command::new(bin)
            .args(["generate", "man", "--dir"])
            .arg(&man_dir),
    )?;
    let mut man_pages = Vec::new();
    for page in listed.lines().map(PathBuf::from) {
        // -n: no name or time stamp inside, so the same page gives the same
        // bytes (Debian policy asks for gzip -9n).
        run_command(Command::new("gzip").args(["-9nf"]).arg(&page))?;
        man_pages.push(page.with_extension("1.gz"));
    }
    man_pages.sort();
    for required in REQUIRED_PAGES {
        ensure!(
            man_pages.iter().any(|p| p.ends_with(required)),
            "`hostscope generate man` did not write {required}; it wrote: {listed}"
        );
    }

    let completion = |shell: &str, name: &str| -> Result<PathBuf> {
        let script = command_output(Command::new(bin).args(["generate", "completions", shell]))?;
        ensure!(
            script.contains("hostscope"),
            "the {shell} completion script does not mention hostscope"
        );
        let path = dir.join(name);
        fs::write(&path, script).with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    };
    Ok(Generated {
        man_pages,
        bash: completion("bash", "hostscope.bash")?,
        zsh: completion("zsh", "_hostscope")?,
        fish: completion("fish", "hostscope.fish")?,
    })
}

/// `target/dist/hostscope-VERSION-ARCH-linux.tar.gz`, holding
/// `hostscope-VERSION/` laid out like a `/usr/local` prefix.
fn tarball(
    root: &Path,
    dist: &Path,
    work: &Path,
    bin: &Path,
    version: &str,
    generated: &Generated,
) -> Result<PathBuf> {
    let stage = work.join("tar");
    let top = format!("hostscope-{version}");
    let prefix = stage.join(&top);
    install(bin, &prefix.join("bin/hostscope"), 0o755)?;
    install_shared(&prefix, generated)?;
    install(
        &root.join(UNIT),
        &prefix.join("lib/systemd/system/hostscope-export.service"),
        0o644,
    )?;
    install(&root.join("README.md"), &prefix.join("README.md"), 0o644)?;
    for license in license_files(root)? {
        let name = license.file_name().expect("a file has a name");
        install(&license, &prefix.join(name), 0o644)?;
    }

    let name = format!("hostscope-{version}-{}-linux.tar", std::env::consts::ARCH);
    let tar = dist.join(&name);
    let gz = dist.join(format!("{name}.gz"));
    for old in [&tar, &gz] {
        if old.exists() {
            fs::remove_file(old).with_context(|| format!("remove {}", old.display()))?;
        }
    }
    let mut cmd = Command::new("tar");
    // Owned by root, in name order, whoever builds it and in whatever order
    // the directory lists.
    cmd.args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"]);
    if let Some(epoch) = source_date_epoch() {
        cmd.arg(format!("--mtime=@{epoch}"));
    }
    cmd.arg("-C").arg(&stage).arg("-cf").arg(&tar).arg(&top);
    run_command(&mut cmd)?;
    run_command(Command::new("gzip").arg("-9n").arg(&tar))?;
    Ok(gz)
}

/// `target/dist/hostscope_VERSION_DEBARCH.deb`. It installs the unit but
/// neither enables nor starts it, so there is no postinst: an exporter must
/// be told where to send its records first, and one started on install
/// would send them to whatever the default reaches.
fn deb(
    root: &Path,
    dist: &Path,
    work: &Path,
    bin: &Path,
    version: &str,
    generated: &Generated,
) -> Result<PathBuf> {
    // debian/hostscope is where dpkg-shlibdeps expects the package's files.
    let stage = work.join("debian/hostscope");
    install(bin, &stage.join("usr/bin/hostscope"), 0o755)?;
    install_shared(&stage.join("usr"), generated)?;
    install(
        &root.join(UNIT),
        &stage.join("lib/systemd/system/hostscope-export.service"),
        0o644,
    )?;
    install(
        &root.join("README.md"),
        &stage.join("usr/share/doc/hostscope/README.md"),
        0o644,
    )?;

    let arch = command_output(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned();
    let depends = depends(work)?;
    let installed_kib = installed_size_kib(&stage)?;
    let maintainer = match (std::env::var("DEBFULLNAME"), std::env::var("DEBEMAIL")) {
        (Ok(name), Ok(email)) => format!("{name} <{email}>"),
        // Cargo.toml names no author; `.invalid` cannot be mistaken for a
        // real address. Set DEBFULLNAME and DEBEMAIL to sign a release.
        _ => "hostscope developers <hostscope@maintainers.invalid>".to_owned(),
    };
    let control = format!(
        "Package: hostscope
Version: {version}
Architecture: {arch}
Maintainer: {maintainer}
Installed-Size: {installed_kib}
Depends: {depends}
Section: admin
Priority: optional
Homepage: https://github.com/hostscope/hostscope
Description: see what every process on this host does
 One binary that sees every process on a Linux host, containers included,
 from procfs and an eBPF probe: a live terminal UI (hostscope top), ps,
 strace-style syscall tracing (hostscope trace), an explanation of the
 files a program looked for and did not find (hostscope why-missing), and
 an exporter of process events to syslog and the journal.
 .
 The hostscope-export service is installed but not enabled: configure its
 destinations first (see hostscope-export(1)).
"
    );
    let debian = stage.join("DEBIAN");
    fs::create_dir_all(&debian).with_context(|| format!("create {}", debian.display()))?;
    fs::write(debian.join("control"), control).context("write DEBIAN/control")?;
    set_tree_permissions(&stage)?;

    let deb = dist.join(format!("hostscope_{version}_{arch}.deb"));
    run_command(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    Ok(deb)
}

/// The package's run-time dependencies, as dpkg-shlibdeps finds them from
/// the libraries the binary links and the symbol versions it uses (libc6
/// and libgcc-s1, for unwinding).
fn depends(work: &Path) -> Result<String> {
    let control = work.join("debian/control");
    fs::write(
        &control,
        "Source: hostscope\n\nPackage: hostscope\nArchitecture: any\n",
    )
    .with_context(|| format!("write {}", control.display()))?;
    let found = Command::new("dpkg-shlibdeps")
        .args(["-O", "-e", "debian/hostscope/usr/bin/hostscope"])
        .current_dir(work)
        .output();
    match found {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let depends = text
                .lines()
                .find_map(|l| l.strip_prefix("shlibs:Depends="))
                .with_context(|| format!("no shlibs:Depends in dpkg-shlibdeps output: {text:?}"))?;
            Ok(depends.trim().to_owned())
        }
        Ok(out) => bail!(
            "dpkg-shlibdeps failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) => {
            eprintln!(
                "xtask dist: dpkg-shlibdeps not found ({err}; apt-get install dpkg-dev): Depends: libc6, libgcc-s1 without minimum versions"
            );
            Ok("libc6, libgcc-s1".to_owned())
        }
    }
}

/// The man pages and completions, under `prefix` (`/usr` or the tarball's
/// top directory).
fn install_shared(prefix: &Path, generated: &Generated) -> Result<()> {
    for page in &generated.man_pages {
        let name = page.file_name().expect("a page has a name");
        install(page, &prefix.join(MAN_DIR).join(name), 0o644)?;
    }
    install(&generated.bash, &prefix.join(BASH_COMPLETION), 0o644)?;
    install(&generated.zsh, &prefix.join(ZSH_COMPLETION), 0o644)?;
    install(&generated.fish, &prefix.join(FISH_COMPLETION), 0o644)?;
    Ok(())
}

/// Copies `from` to `to`, creating its directories, with `mode` whatever
/// the umask or the source's mode.
fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let dir = to.parent().expect("an install path has a directory");
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    fs::copy(from, to).with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", to.display()))
}

/// Directories 0755, as dpkg-deb wants them whatever the umask was (it
/// refuses a DEBIAN directory that is group- or world-writable).
fn set_tree_permissions(dir: &Path) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod {}", dir.display()))?;
    for entry in fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("read {}", dir.display()))?;
        if entry.file_type()?.is_dir() {
            set_tree_permissions(&entry.path())?;
        }
    }
    Ok(())
}

/// Installed-Size: the files' sizes in KiB, each rounded up, as dpkg-gencontrol
/// counts them (DEBIAN/ not included).
fn installed_size_kib(dir: &Path) -> Result<u64> {
    let mut kib = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("read {}", dir.display()))?;
        let meta = entry.metadata()?;
        kib += if meta.is_dir() {
            installed_size_kib(&entry.path())? + 1
        } else {
            meta.len().div_ceil(1024)
        };
    }
    Ok(kib)
}

/// LICENSE*, COPYING* and NOTICE* at the workspace root (none yet).
fn license_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(root).with_context(|| format!("read {}", root.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_uppercase())
            .unwrap_or_default();
        if path.is_file()
            && ["LICENSE", "COPYING", "NOTICE"]
                .iter()
                .any(|p| name.starts_with(p))
        {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// SOURCE_DATE_EPOCH, the reproducible-builds convention for the time
/// stamped into archives; without it files keep their own times.
fn source_date_epoch() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.parse().ok()
}

/// The paths every archive must hold, relative to its install root.
fn required(prefix: &str, unit_dir: &str) -> Vec<String> {
    let mut paths = vec![
        format!("{prefix}bin/hostscope"),
        format!("{prefix}{BASH_COMPLETION}"),
        format!("{prefix}{ZSH_COMPLETION}"),
        format!("{prefix}{FISH_COMPLETION}"),
        format!("{unit_dir}hostscope-export.service"),
    ];
    paths.extend(
        REQUIRED_PAGES
            .iter()
            .map(|page| format!("{prefix}{MAN_DIR}/{page}")),
    );
    paths
}

fn verify_tarball(tarball: &Path, version: &str) -> Result<()> {
    let listing = command_output(Command::new("tar").arg("tzf").arg(tarball))?;
    let files: BTreeSet<&str> = listing.lines().map(|l| l.trim_end_matches('/')).collect();
    let top = format!("hostscope-{version}/");
    let mut expected = required(&top, &format!("{top}lib/systemd/system/"));
    expected.push(format!("{top}README.md"));
    check_listing(tarball, &files, &expected)?;
    println!("\n$ tar tzf {}\n{}", tarball.display(), listing.trim_end());
    Ok(())
}

fn verify_deb(deb: &Path) -> Result<()> {
    let info = command_output(Command::new("dpkg-deb").arg("--info").arg(deb))?;
    println!("\n$ dpkg-deb --info {}\n{}", deb.display(), info.trim_end());
    for field in [
        "Package: hostscope",
        "Version: ",
        "Architecture: ",
        "Depends: libc6",
    ] {
        ensure!(
            info.contains(field),
            "{}: the control file has no {field:?}",
            deb.display()
        );
    }
    let contents = command_output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    println!(
        "\n$ dpkg-deb --contents {}\n{}",
        deb.display(),
        contents.trim_end()
    );
    // Lines end with the path, `./usr/bin/hostscope`; no path has a space.
    let files: BTreeSet<&str> = contents
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| p.trim_start_matches("./").trim_end_matches('/'))
        .collect();
    check_listing(deb, &files, &required("usr/", "lib/systemd/system/"))
}

fn check_listing(archive: &Path, files: &BTreeSet<&str>, expected: &[String]) -> Result<()> {
    let missing: Vec<&str> = expected
        .iter()
        .map(String::as_str)
        .filter(|path| !files.contains(path))
        .collect();
    ensure!(
        missing.is_empty(),
        "{} lacks {}",
        archive.display(),
        missing.join(", ")
    );
    Ok(())
}

/// Runs a command that must succeed; its output goes to the terminal.
fn run_command(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(status.success(), "{cmd:?} failed: {status}");
    Ok(())
}

/// Runs a command that must succeed and returns its standard output.
fn command_output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).with_context(|| format!("{cmd:?} printed invalid UTF-8"))
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
