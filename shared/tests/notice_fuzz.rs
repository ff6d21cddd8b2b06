//! Property (fuzz) tests of the notice parser: random text and mutations of
//! the real notice never panic, and every problem names a line of the input.
//!
//! Long run: `PROPTEST_CASES=200000 cargo test --release -p cablewatch-shared --test notice_fuzz`.

use proptest::prelude::*;
use shared::notice::parse_notice;
use shared::reference::{cables, stations};

const FIXTURE: &str = include_str!("fixtures/2026-02-14-fault-notice.txt");

/// Pieces the ministry's layout is made of, to build notices that get deep
/// into the parser rather than failing on the first line.
const PIECES: &[&str] = &[
    "\t",
    "\n",
    "\r\n",
    " ",
    "(",
    ")",
    "（",
    "）",
    "115/2/14",
    "114/13/40",
    "115 年 4 月",
    "115年2月12日",
    "待定",
    "EAC1",
    "東亞交匯一號海纜系統 (EAC1)",
    "臺馬三號海纜",
    "距新北八里約 ",
    "206",
    "47.7",
    " 公里處",
    "發生部分芯線受損障礙",
    "斷纜",
    "、",
    "註：",
    "- 2.",
    "已於 ",
    "修復完成",
    "計畫性維修已於 2 月 12 日完成",
    "序號\t海纜名稱\t障礙發生日期",
    "日期：",
    "無",
    "1",
    "9999999999999999999999",
    "-3",
    "\u{0}",
    "\u{feff}",
    "海纜計畫性維修通告",
];

fn check(text: &str) -> Result<(), TestCaseError> {
    let cs = cables().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let st = stations().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let p = parse_notice(text, &cs, &st);
    let lines = text.lines().count().max(1);
    for issue in p.errors.iter().chain(&p.warnings) {
        prop_assert!(
            (1..=lines).contains(&issue.line),
            "line {} of {lines}: {}",
            issue.line,
            issue.message
        );
        prop_assert!(!issue.message.is_empty());
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Insert(usize, String),
    Truncate(usize),
    ReplaceChar(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (
            any::<usize>(),
            prop::sample::select(PIECES).prop_map(str::to_string)
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), ".{0,3}").prop_map(|(i, s)| Mutation::Insert(i, s)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<char>()).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
    ]
}

fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in muts {
        let n = lines.len().max(1);
        match m {
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::Insert(i, s) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                let chars: Vec<char> = l.chars().collect();
                let at = i % (chars.len() + 1);
                let mut out: String = chars[..at].iter().collect();
                out.push_str(s);
                out.extend(&chars[at..]);
                *l = out;
            }
            Mutation::Truncate(i) => lines.truncate(i % (n + 1)),
            Mutation::ReplaceChar(i, c) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                let mut chars: Vec<char> = l.chars().collect();
                if !chars.is_empty() {
                    let k = i % chars.len();
                    chars[k] = *c;
                    *l = chars.into_iter().collect();
                }
            }
            _ => {}
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn random_text_never_panics(text in ".{0,400}") {
        check(&text)?;
    }

    #[test]
    fn notices_built_from_its_pieces_never_panic(parts in prop::collection::vec(prop::sample::select(PIECES), 0..80)) {
        check(&parts.concat())?;
    }

    #[test]
    fn mutated_real_notices_never_panic(muts in prop::collection::vec(mutation(), 1..8)) {
        check(&apply(FIXTURE, &muts))?;
    }
}
