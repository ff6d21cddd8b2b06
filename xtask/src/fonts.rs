//! `cargo xtask fonts`: rebuilds the bundled font, `assets/fonts/`, a
//! subset of Noto Sans CJK TC Regular (SIL OFL 1.1) from Debian's
//! `fonts-noto-cjk`, holding only the characters the project writes: ASCII,
//! common CJK punctuation, and every character of the UI's locales, the
//! reference data and the demo notice. The exports (PDF, PNG) draw text with
//! it and nothing else: no system font, no download at run time.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{apt_install, python_venv, root, run, step};

const SOURCE: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// Noto Sans CJK TC in the collection (0 JP, 1 KR, 2 SC, 3 TC, 4 HK).
const TC_INDEX: &str = "3";
pub const OUTPUT: &str = "assets/fonts/NotoSansTC-Regular-subset.otf";
const PUNCTUATION: &str =
    "，。、：；「」『』（）【】《》〈〉·—–…▶℃％＋－／～！？　’‘“”•→←↑↓⚠×÷≤≥±°";

/// Every character the bundled font must hold, from the files that feed
/// the exports' text.
pub fn characters() -> Result<BTreeSet<char>> {
    let mut chars: BTreeSet<char> = (0x20u8..0x7f).map(char::from).collect();
    chars.extend(PUNCTUATION.chars());
    for dir in ["app/locales", "shared/data", "shared/tests/fixtures"] {
        for e in std::fs::read_dir(root().join(dir)).with_context(|| dir.to_string())? {
            let path = e?.path();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            chars.extend(text.chars().filter(|c| !c.is_control()));
        }
    }
    Ok(chars)
}

pub fn fonts() -> Result<()> {
    step("fonts: Noto Sans CJK (Debian fonts-noto-cjk)");
    if std::path::Path::new(SOURCE).exists() {
        eprintln!("   {SOURCE} already installed");
    } else {
        apt_install("fonts-noto-cjk")?;
    }
    let python = python_venv("fonts", &["fonttools==4.66.1"])?;
    let chars = characters()?;
    let list = root().join("target/font-characters.txt");
    std::fs::write(&list, chars.iter().collect::<String>())?;
    step(&format!(
        "fonts: subset of {} characters → {OUTPUT}",
        chars.len()
    ));
    std::fs::create_dir_all(root().join("assets/fonts"))?;
    run(Command::new(&python)
        .args(["-m", "fontTools.subset", SOURCE])
        .arg(format!("--font-number={TC_INDEX}"))
        .arg(format!("--text-file={}", list.display()))
        .arg(format!("--output-file={}", root().join(OUTPUT).display()))
        .args([
            "--layout-features=kern,liga,locl",
            "--notdef-outline",
            "--name-IDs=*",
        ]))?;
    step("fonts: licence (SIL OFL 1.1, from Debian's copyright file)");
    let copyright = std::fs::read_to_string("/usr/share/doc/fonts-noto-cjk/copyright")?;
    let Some(start) = copyright.rfind("License: SIL-1.1\n") else {
        bail!("no SIL-1.1 licence text in Debian's copyright file");
    };
    let body: String = copyright[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("License:"))
        .map(|l| {
            let l = l.strip_prefix(' ').unwrap_or(l);
            if l == "." {
                "\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(
        root().join("assets/fonts/LICENSE-OFL.txt"),
        format!("Noto Sans CJK TC (a subset, made by `cargo xtask fonts`): (c) 2014-2021 Adobe (http://www.adobe.com/).\nNoto is a trademark of Google Inc. From Debian's fonts-noto-cjk. Licensed under the SIL Open Font License 1.1:\n\n{body}"),
    )?;
    let size = std::fs::metadata(root().join(OUTPUT))?.len();
    eprintln!("   {OUTPUT}: {} KB", size / 1024);
    Ok(())
}
