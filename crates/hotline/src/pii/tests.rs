//! The masks' tests: every spelling of a number in a generated corpus, names, identifiers, snippet fragments and whole tickets.

use super::numbers::digit_of;
use super::*;

fn none() -> Known {
    Known::default()
}

/// A digit written as a Chinese numeral (幺 for 1 as read out on the phone).
fn chinese(d: char, alt: bool) -> char {
    let i = d.to_digit(10).unwrap_or(0) as usize;
    if alt && d == '1' {
        return '幺';
    }
    ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'][i]
}

/// The digits of a text, however written, in order: what a reader could
/// read off it.
fn digits_of(text: &str) -> String {
    text.chars().filter_map(digit_of).map(char::from).collect()
}

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// A number written one of the many ways people write numbers: groups
/// cut by spaces (visible or not), line breaks, hyphens, dots, slashes,
/// brackets, colons, stars, bars, full-width punctuation; full-width
/// digits; Chinese numerals, whole or mixed; other scripts' digits,
/// circled, mathematical and superscript ones.
fn spell(number: &str, groups: &[usize], rng: &mut Rng) -> String {
    const SEPARATORS: [&str; 35] = [
        "", " ", "-", ".", "/", "　", "－", "·", "—", " - ", "．", "、", ",", "，", "\n", "\r\n",
        "\u{200B}", "\u{00A0}", ":", "~", "*", "|", "     ", " \n\n ", "\u{00AD}", "\u{200E}",
        "\u{202E}", "\u{2066}", "\u{FE0F}", "\u{2009}", "\u{2028}", "\u{0085}", "\u{3164}",
        "\u{2800}", "\u{034F}",
    ];
    let sep = SEPARATORS[rng.below(SEPARATORS.len())];
    // 0 ASCII, 1 full-width, 2 Chinese, 3 mixed, 4 幺, 5 两, 6 circled,
    // 7 mathematical bold, 8 Arabic-Indic, 9 superscript.
    let digits = rng.below(10);
    let mut out = String::new();
    let mut at = 0;
    for (g, len) in groups.iter().enumerate() {
        let part = &number[at..(at + len).min(number.len())];
        at += len;
        if g > 0 {
            out.push_str(sep);
        }
        let bracket = g == 0 && groups.len() > 1 && rng.below(4) == 0;
        if bracket {
            out.push(if rng.below(2) == 0 { '(' } else { '（' });
        }
        for (k, d) in part.chars().enumerate() {
            out.push(match digits {
                1 => char::from_u32(d as u32 - '0' as u32 + '０' as u32).unwrap_or(d),
                2 => chinese(d, false),
                3 if k % 2 == 0 => chinese(d, false),
                4 => chinese(d, true),
                5 if d == '2' => '两',
                5 => chinese(d, false),
                6 if d == '0' => '⓪',
                6 => char::from_u32(d as u32 - '1' as u32 + 0x2460).unwrap_or(d),
                7 => char::from_u32(d as u32 - '0' as u32 + 0x1D7CE).unwrap_or(d),
                8 => char::from_u32(d as u32 - '0' as u32 + 0x0660).unwrap_or(d),
                9 => ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'][d as usize - '0' as usize],
                _ => d,
            });
        }
        if bracket {
            out.push(if rng.below(2) == 0 { ')' } else { '）' });
        }
    }
    out
}

const SENTENCES: [(&str, &str); 6] = [
    ("来电人反映小区充电桩坏了，联系电话", "，请尽快处理。"),
    ("我的号码是", "，晚上八点后打"),
    ("回电", "或者发短信"),
    ("身份证号", "，我叫王小明"),
    ("投诉人（", "）说楼下饭店油烟太大"),
    ("他留了", "这个，说3号楼2单元502室在2024年3月2日交了3000元"),
];

#[test]
fn a_generated_corpus_of_spellings_leaves_no_number_readable() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0;
    for _ in 0..3000 {
        let kind = rng.below(4);
        // `hidden`: which of the number's digits the mask hides.
        let (number, groups, hidden): (String, Vec<usize>, (usize, usize)) = match kind {
            0 => {
                let n = format!("1{}{}", 3 + rng.below(7), rng.digits(9));
                let hidden = (3, 7);
                let groups = [vec![11], vec![3, 4, 4], vec![3, 8], vec![7, 4], vec![1; 11]];
                (n, groups[rng.below(5)].clone(), hidden)
            }
            1 => {
                let n = format!(
                    "0{}{}",
                    ["10", "21", "755", "512"][rng.below(4)],
                    rng.digits(8)
                );
                let area = if n.len() == 11 { 3 } else { 4 };
                let hidden = (area, n.len() - 2);
                let groups = [vec![n.len()], vec![area, 8], vec![area, 4, 4]];
                (n, groups[rng.below(3)].clone(), hidden)
            }
            2 => {
                let n = format!(
                    "11010{}19{}{:02}{:02}{}",
                    rng.below(10),
                    50 + rng.below(50),
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.digits(4)
                );
                let hidden = (6, 14);
                let groups = [
                    vec![18],
                    vec![6, 8, 4],
                    vec![6, 4, 4, 4],
                    vec![3, 3, 4, 4, 4],
                    vec![1; 18],
                ];
                (n, groups[rng.below(5)].clone(), hidden)
            }
            _ => {
                // +86 and a mobile.
                let n = format!("86138{}", rng.digits(8));
                (n, vec![2, 3, 4, 4], (5, 9))
            }
        };
        let written = spell(&number, &groups, &mut rng);
        let written = if kind == 3 {
            format!("+{written}")
        } else {
            written
        };
        let (before, after) = SENTENCES[rng.below(SENTENCES.len())];
        let text = format!("{before}{written}{after}");
        let masked = none().mask(&text);
        assert_eq!(masked.chars().count(), text.chars().count(), "{text}");
        // What a reader can read: the sentence's own digits and the
        // number's kept ones, nothing else.
        let kept = format!("{}{}", &number[..hidden.0], &number[hidden.1..]);
        let expected = format!("{}{kept}{}", digits_of(before), digits_of(after));
        assert_eq!(digits_of(&masked), expected, "{text} → {masked}");
        // The index holds the same identifier, whatever the spelling.
        let values: Vec<String> = none()
            .spans(&text)
            .into_iter()
            .map(|(_, v)| v.to_string())
            .collect();
        let national = number.strip_prefix("86").unwrap_or(&number);
        assert!(values.iter().any(|v| v == national), "{text}: {values:?}");
        cases += 1;
    }
    assert_eq!(cases, 3000);
}

#[test]
fn other_identifiers_are_masked_and_indexed_as_themselves() {
    let cases = [
        (
            "邮箱zhang.san88@qq.com，谢谢",
            "zhang.san88@qq.com",
            "hang.san88",
        ),
        ("发邮件到 Wang_Li@163.COM 就行", "wang_li@163.com", "ang_Li"),
        (
            "加我微信号：wxid_abc12345，",
            "wxid_abc12345",
            "xid_abc1234",
        ),
        ("微信 zhangsan_1988 联系", "zhangsan_1988", "hangsan_198"),
        ("QQ号：123456789，", "123456789", "2345678"),
        ("qq 87654321 也行", "87654321", "765432"),
        ("护照号码E12345678，", "E12345678", "1234567"),
        ("港澳通行证C87654321已过期", "C87654321", "8765432"),
        ("车牌京A12345停在消防通道", "京A12345", "1234"),
        ("京N·D6789X的车主", "京ND6789X", "D6789"),
        ("一辆沪B 3C5D7长期占道", "沪B3C5D7", "3C5D"),
    ];
    for (text, value, hidden) in cases {
        let masked = none().mask(text);
        assert_eq!(masked.chars().count(), text.chars().count(), "{text}");
        assert!(!masked.contains(hidden), "{text} → {masked}");
        let values: Vec<String> = none()
            .spans(text)
            .into_iter()
            .map(|(_, v)| v.to_string())
            .collect();
        assert!(
            values.iter().any(|v| v.eq_ignore_ascii_case(value)),
            "{text}: {values:?}"
        );
    }
}

#[test]
fn names_spaced_or_given_alone_are_masked() {
    let known = Known::new(Some("王小明"), None);
    for text in [
        "王 小 明来电",
        "王　小明说",
        "找小明就行",
        "王·小·明",
        "王、小、明",
        "王小\u{200B}明",
        "王，小明",
        "王小\u{200E}明",
        "王\u{00AD}小\u{2066}明",
    ] {
        let masked = known.mask(text);
        assert!(
            !masked.contains('小') && !masked.contains('明'),
            "{text} → {masked}"
        );
        assert_eq!(masked.chars().count(), text.chars().count());
    }
    assert_eq!(known.mask("王 小 明来电"), "王 * *来电");
    let values: Vec<String> = known
        .spans("找小明就行")
        .into_iter()
        .map(|(_, v)| v.to_string())
        .collect();
    assert!(values.contains(&"小明".to_owned()), "{values:?}");
    // A name in Latin letters, in any case.
    let known = Known::new(Some("Zhang San"), None);
    for text in ["ZHANG SAN来电", "zhangsan说", "Zhang-San"] {
        let masked = known.mask(text);
        assert!(!masked.to_lowercase().contains("han"), "{text} → {masked}");
    }
    // A compound surname: the given name is what follows it.
    let known = Known::new(Some("欧阳娜娜"), None);
    assert_eq!(known.mask("娜娜反映"), "**反映");
}

#[test]
fn ordinary_numbers_in_many_spellings_stay() {
    for s in [
        "2024-03-02 09:00",
        "2024年3月2日",
        "二〇二四年三月二日",
        "欠薪300000元",
        "交了3000元，又交了5,000元",
        "3号楼2单元502室",
        "8号楼3单元502室",
        "12345热线",
        "第20240302期",
        "工单ZH20240401001已办结",
        "工单号0190f7b4-0000-7000-8000-000000000000",
        "一二三四五六七八九十",
        "两三天没人管，两个人来看过",
        "①楼道堵了②电梯坏了",
        "上午10:30到11:45停水",
        "面积120.5平方米，单价65000元",
        "京津冀协同发展",
        "Vue3和A4纸",
    ] {
        assert_eq!(none().mask(s), s);
    }
}

#[test]
fn names_keep_their_first_character() {
    assert_eq!(mask_name("张三丰"), "张**");
    assert_eq!(mask_name("王小明"), "王**");
    assert_eq!(mask_name("王明"), "王*");
    assert_eq!(mask_name("李"), "*");
    assert_eq!(mask_name(" 欧阳娜娜 "), "欧***");
    assert_eq!(mask_name(""), "");
}

#[test]
fn mobiles_keep_three_and_four() {
    assert_eq!(mask_numbers("电话13812345678。"), "电话138****5678。");
    assert_eq!(mask_numbers("138-1234-5678"), "138-****-5678");
    assert_eq!(mask_numbers("138 1234 5678"), "138 **** 5678");
    assert_eq!(mask_numbers("+8613812345678"), "+86138****5678");
    assert_eq!(mask_numbers("１３８１２３４５６７８"), "１３８****５６７８");
    assert_eq!(mask_phone("13812345678"), "138****5678");
}

#[test]
fn landlines_keep_area_code_and_last_two() {
    assert_eq!(mask_numbers("010-62345678"), "010-******78");
    assert_eq!(mask_numbers("01062345678"), "010******78");
    assert_eq!(mask_numbers("0755-1234567"), "0755-*****67");
    assert_eq!(mask_numbers("075512345678"), "0755******78");
    // A local number alone is not recognised in free text, but is in the phone field.
    assert_eq!(mask_phone("62345678"), "******78");
}

#[test]
fn identity_numbers_keep_six_and_four() {
    assert_eq!(
        mask_numbers("身份证110105199003071234号"),
        "身份证110105********1234号"
    );
    assert_eq!(mask_numbers("11010519900307123X"), "110105********123X");
}

#[test]
fn ordinary_numbers_stay() {
    for s in [
        "2024-03-02 09:00",
        "欠薪300000元",
        "8号楼3单元502室",
        "12345热线",
        "第20240302期",
    ] {
        assert_eq!(mask_numbers(s), s);
    }
}

#[test]
fn spans_find_numbers_and_the_callers_name() {
    let known = Known::new(Some("王小明"), Some("62345678"));
    let text = "王小明反映，回电62345678或138-1234-5678，身份证110105199003071234";
    let found: Vec<String> = known.spans(text).into_iter().map(|(_, s)| s).collect();
    for s in ["王小明", "62345678", "13812345678", "110105199003071234"] {
        assert!(found.iter().any(|f| f == s), "{s}: {found:?}");
    }
}

#[test]
fn free_text_hides_every_long_digit_run() {
    assert_eq!(mask_free_text("q=13812345678"), "q=138****5678");
    assert_eq!(mask_free_text("q=1381234"), "q=*****34");
    assert_eq!(mask_free_text("q=62345678 topic=x"), "q=******78 topic=x");
    assert_eq!(mask_free_text("q=充电桩 2024"), "q=充电桩 2024");
    assert_eq!(
        mask_free_text("q=110105199003071234"),
        "q=110105********1234"
    );
}

#[test]
fn the_callers_name_and_phone_are_masked_in_text() {
    let known = Known::new(Some("王小明"), Some("62345678"));
    assert_eq!(
        known.mask("王小明反映，回电62345678或13812345678"),
        "王**反映，回电******78或138****5678"
    );
}

/// Fragments from a readable notation: `[word]` is a marked fragment.
fn frags(notation: &str) -> Vec<Fragment> {
    let mut out = Vec::new();
    for (i, part) in notation.split(['[', ']']).enumerate() {
        if !part.is_empty() {
            out.push(Fragment {
                text: part.to_owned(),
                mark: i % 2 == 1,
            });
        }
    }
    out
}

/// The same notation back, for comparing masked fragments.
fn notation(fragments: &[Fragment]) -> String {
    fragments
        .iter()
        .map(|f| {
            if f.mark {
                format!("[{}]", f.text)
            } else {
                f.text.clone()
            }
        })
        .collect()
}

fn masked(snippet: &str, known: &Known) -> String {
    notation(&mask_snippet(&frags(snippet), known))
}

#[test]
fn a_phone_split_between_fragments_does_not_leak() {
    assert_eq!(
        masked("电话138[1234]5678，请回电", &none()),
        "电话138[****]5678，请回电"
    );
    assert_eq!(masked("[1381234]5678", &none()), "[138****]5678");
    assert_eq!(
        masked("身份证[110105]199003071234", &none()),
        "身份证[110105]********1234"
    );
    // The attacker's query marks every digit of the number one by one: no
    // fragment, nor their joined text, shows the hidden digits.
    let one_by_one: String = "13812345678".chars().map(|c| format!("[{c}]")).collect();
    let got = mask_snippet(&frags(&format!("回电{one_by_one}。")), &none());
    assert_eq!(got.len(), 13, "{got:?}");
    let joined: String = got.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(joined, "回电138****5678。");
    assert_eq!(
        got.iter()
            .filter(|f| f.mark)
            .map(|f| f.text.as_str())
            .collect::<String>(),
        "138****5678"
    );
    // Marks stay where they were.
    assert!(got.iter().skip(1).take(11).all(|f| f.mark), "{got:?}");
}

#[test]
fn a_name_split_between_fragments_does_not_leak() {
    let known = Known::new(Some("王小明"), None);
    assert_eq!(masked("[王]小明反映<噪音>", &known), "[王]**反映<噪音>");
    assert_eq!(masked("王[小]明反映", &known), "王[*]*反映");
}

#[test]
fn numbers_cut_by_the_excerpts_edge_are_masked() {
    assert_eq!(
        masked("…3812345678，[充电桩]坏了", &none()),
        "…**********，[充电桩]坏了"
    );
    assert_eq!(
        masked("[充电桩]坏了，电话1381234…", &none()),
        "[充电桩]坏了，电话*******…"
    );
    assert_eq!(
        masked("[充电桩]坏了，电话13[81234]…", &none()),
        "[充电桩]坏了，电话**[*****]…"
    );
    assert_eq!(masked("…2024年", &none()), "…2024年");
}

#[test]
fn a_ticket_is_masked_everywhere() {
    let mut t: Ticket = serde_json::from_value(serde_json::json!({
        "id": "0190f7b4-0000-7000-8000-000000000000",
        "external_id": "EXT-13812345678-王小明",
        "received_at": "2024-03-02T09:00:00",
        "accepted_at": "2024-03-02T09:00:00Z",
        "channel": "微信13812345678",
        "kind": "complaint",
        "urgency": "general",
        "title": "王小明来电",
        "text": "本人王小明，电话13812345678，身份证110105199003071234",
        "caller_name": "王小明",
        "caller_phone": "13812345678",
        "address": "朝阳区望京西园8号楼",
        "district": "朝阳区",
        "topic": {"slug": "other", "source": "router", "confidence": 0.9},
        "department": "住建委 王小明 13812345678",
        "deciding_words": ["五六", "油烟"],
        "repeat_of": null,
        "events": [
            {"id": "0190f7b4-0000-7000-8000-000000000001", "at": "2024-03-02T10:00:00",
             "recorded_at": "2024-03-02T10:00:00Z", "type": "feedback", "resolved": true,
             "note": "已联系王小明 13812345678"},
            {"id": "0190f7b4-0000-7000-8000-000000000002", "at": "2024-03-02T11:00:00",
             "recorded_at": "2024-03-02T11:00:00Z", "type": "reassigned",
             "department": "街道 王小明 13812345678", "reason": null}
        ],
        "seq": 1
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(has_personal_data(&t));
    mask_ticket(&mut t);
    let json = serde_json::to_string(&t).unwrap_or_default();
    assert!(!json.contains("13812345678"), "{json}");
    assert!(!json.contains("王小明"), "{json}");
    assert!(!json.contains("199003071234"), "{json}");
    assert_eq!(t.caller_name.as_deref(), Some("王**"));
    assert_eq!(t.caller_phone.as_deref(), Some("138****5678"));
    assert_eq!(t.address.as_deref(), Some("朝阳区望京西园8号楼"));
    assert_eq!(
        t.deciding_words,
        ["**", "油烟"],
        "a word of digits alone is a number's piece"
    );
}

#[test]
fn every_digit_block_is_ten_numeric_characters() {
    for zero in numbers::DIGIT_ZEROS {
        for k in 0..10 {
            let c = char::from_u32(zero + k).unwrap_or('?');
            assert!(c.is_numeric(), "U+{:04X}", zero + k);
            assert_eq!(digit_of(c), Some(b'0' + k as u8), "U+{:04X}", zero + k);
        }
    }
}

#[test]
fn an_audited_query_hides_a_name_written_among_other_words_or_numbers() {
    for (query, shown) in [
        ("唐小红", "唐**"),
        ("唐小红投诉", "唐****"),
        ("来电人唐小红", "来*****"),
        ("13054050479唐小红", "130****0479唐**"),
        ("唐小红 13054050479", "唐** 130****0479"),
        ("充电桩，朝阳区", "充**，朝**"),
        ("一三八12345678", "一三八****5678"),
        ("幺三八 1234 5678", "幺三八 **** 5678"),
        ("王*小明", "王***"),
    ] {
        let mut entry = hotline_store::AuditEntry::new(
            None,
            "admin",
            hotline_store::AuditAction::Search,
            "search",
        );
        entry.query = Some(query.to_owned());
        mask_audit(&mut entry);
        assert_eq!(entry.query.as_deref(), Some(shown), "{query}");
    }
}

#[test]
fn identifiers_in_full_width_or_with_other_dots_are_masked() {
    for (text, hidden) in [
        ("邮箱zhangsan＠qq．com请回复", "zhangsan"),
        ("邮箱zhangsan@qq。com请回复", "zhangsan"),
        ("车牌京A・12345停在门口", "12345"),
        ("车牌京 A·12345停在门口", "12345"),
        ("车牌京Ａ１２３４５停在门口", "１２３４５"),
        ("ＱＱ号１２３４５６７８９", "１２３４５６７８９"),
    ] {
        let masked = none().mask(text);
        assert!(!masked.contains(hidden), "{text} → {masked}");
        assert_eq!(masked.chars().count(), text.chars().count(), "{text}");
    }
}

/// A number that runs on into another across a comma or a full stop
/// (`13812345678，2024年`) must not be read as one longer number whose mask
/// shows the first one's hidden digits.
#[test]
fn a_phone_followed_by_another_number_keeps_its_middle_hidden() {
    for text in [
        "电话13812345678，2024年3月来的",
        "电话13812345678，2024",
        "电话13812345678,1234",
        "电话13812345678 1234",
        "电话13812345678。2024年",
        "电话13812345678；2024年",
        "13812345678/62223333",
    ] {
        let masked = none().mask(text);
        assert!(!masked.contains("1234"), "{text} → {masked}");
        assert!(!digits_of(&masked).contains("38123"), "{text} → {masked}");
    }
}

/// A name field holds more than the name the text uses: a title, a role in
/// brackets, an introduction, a phone. The name in it is masked in the text.
#[test]
fn the_name_inside_a_name_field_is_masked_in_the_text() {
    for (field, text, name) in [
        (
            "张晓红女士",
            "来电人张晓红反映楼道堆物，张晓红要求清理。",
            "张晓红",
        ),
        ("王小明(业主)", "王小明说楼下油烟大", "王小明"),
        ("来电人李建国", "李建国反映噪音", "李建国"),
        ("李四 13811112222", "我是李四，电话13811112222", "李四"),
        ("欧阳娜娜老师", "欧阳娜娜反映", "欧阳娜娜"),
        ("李建国老先生", "李建国反映", "李建国"),
        ("退休教师孙丽华", "孙丽华反映", "孙丽华"),
        ("周美玲太太", "周美玲反映", "周美玲"),
        ("钱志强租户", "钱志强反映", "钱志强"),
        ("吴海燕之女", "吴海燕反映", "吴海燕"),
        ("郑国平夫妇", "郑国平反映", "郑国平"),
        ("陈志刚老师傅", "陈志刚反映", "陈志刚"),
        ("黄丽娟女", "黄丽娟反映", "黄丽娟"),
        ("业主（王小明）", "王小明说", "王小明"),
        ("张先生(张建国)", "张建国说", "张建国"),
        ("王小明大叔", "王小明反映", "王小明"),
        ("外卖员张强", "张强反映", "张强"),
        ("王小明等3人", "王小明反映", "王小明"),
        ("王小明", "王~小~明反映", "小~明"),
    ] {
        let known = Known::new(Some(field), None);
        let masked = known.mask(text);
        assert!(!masked.contains(name), "{field}: {text} → {masked}");
        assert!(!masked.contains("1111"), "{field}: {text} → {masked}");
    }
    // A role is no name: 业主（王小明） leaves every other 业主 alone.
    let known = Known::new(Some("业主（王小明）"), None);
    assert_eq!(known.mask("业主们都说"), "业主们都说");
    // A title alone is no name: 张女士 masks only itself.
    let known = Known::new(Some("张女士"), None);
    assert_eq!(known.mask("张女士说，女士们都同意"), "张**说，女士们都同意");
}

/// A phone field with two numbers, or a number and an extension: each is
/// masked in the field and found in the text on its own.
#[test]
fn every_number_of_a_phone_field_is_masked() {
    assert_eq!(mask_phone("13811223344/62223333"), "138****3344/******33");
    assert_eq!(mask_phone("62345678转8001"), "******78转**01");
    for (field, text, hidden) in [
        (
            "13811223344/62223333",
            "白天打62223333，晚上13811223344",
            ["62223333", "1122"],
        ),
        (
            "62345678转8001",
            "座机62345678转8001或直接62345678",
            ["62345678", "2345"],
        ),
    ] {
        let masked = Known::new(None, Some(field)).mask(text);
        for h in hidden {
            assert!(!masked.contains(h), "{field}: {text} → {masked}");
        }
    }
}

/// More ways to write a phone: semicolons, full stops, plus and equals
/// signs, ellipses, quotes and hashes between the groups, and the radio
/// operator's numerals (洞 0, 拐 7, 勾 9).
#[test]
fn more_separators_and_radio_numerals_are_read() {
    for text in [
        "131；2233；4455",
        "133。2244。6688",
        "135+3344+5566",
        "136=3344=5566",
        "137…5566…7788",
        "138'1234'5678",
        "150#1234#5678",
        "幺五幺洞幺两三四拐勾八",
    ] {
        let masked = none().mask(text);
        assert_ne!(masked, text, "{text}");
        assert_eq!(masked.matches('*').count(), 4, "{text} → {masked}");
    }
}

/// WeChat and QQ ids under the other names callers give them.
#[test]
fn wechat_and_qq_ids_under_other_labels_are_masked() {
    for (text, id) in [
        ("微信号码是：lijianguo88", "lijianguo88"),
        ("v信：lijianguo88", "lijianguo88"),
        ("微 信 lijianguo88", "lijianguo88"),
        ("薇信lijianguo88", "lijianguo88"),
        ("WeChat ID: lijianguo88", "lijianguo88"),
        ("QQ号码是：456789123", "456789123"),
        ("扣扣：456789123", "456789123"),
        ("企鹅号456789123", "456789123"),
        ("QQ: 45678 9123", "9123"),
        ("加V：lijianguo88", "lijianguo88"),
        ("微信账号：lijianguo88", "lijianguo88"),
        ("V X：lijianguo88", "lijianguo88"),
        ("微信（号）：lijianguo88", "lijianguo88"),
        ("Q Q：456789123", "456789123"),
        ("车牌京A 1 2345", "1 234"),
        ("车牌京·A12345", "1234"),
    ] {
        let masked = none().mask(text);
        assert!(!masked.contains(id), "{text} → {masked}");
    }
}

/// A number followed by ASCII letters is still a number (13712345678wx,
/// an identity number then abc); one inside a word of letters (iPhone13,
/// a hex id) is not. A mobile between two other numbers keeps its middle
/// hidden. Quotes, corner brackets and arrows between groups.
#[test]
fn numbers_next_to_letters_quotes_and_other_numbers_are_masked() {
    for text in [
        "手机13712345678wx同号",
        "身份证110105199001015678abc",
        "1，13612345678，123",
        "12，13512345678，12",
        "138\"1234\"5678",
        "138「1234」5678",
        "138→1234→5678",
        "138<1234>5678",
        "Tel13712345678",
        "电话No13712345678",
        "加vx13712345678",
        "联系：1，136 1234 5678，123",
    ] {
        let masked = none().mask(text);
        assert!(!digits_of(&masked).contains("1234"), "{text} → {masked}");
        assert!(!digits_of(&masked).contains("9001"), "{text} → {masked}");
    }
    for text in ["iPhone13", "编号a3f5e71234567890b", "订单号20241231123456"] {
        assert_eq!(none().mask(text), text);
    }
}
