//! The street gazetteer (街道 / 乡镇): the shipped list loads, real names are
//! recognised, near-misses are not, and the street agrees with the district.

use hotline_classifier::Gazetteer;

const DISTRICTS: &str = include_str!("../../../config/gazetteer/beijing.toml");
const STREETS: &str = include_str!("../../../config/gazetteer/beijing_streets.toml");

fn gazetteer() -> Gazetteer {
    Gazetteer::from_toml_str("gazetteer", DISTRICTS)
        .and_then(|g| g.with_streets("streets", STREETS))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// (district, street) for a text without a district field or address.
fn place(g: &Gazetteer, text: &str) -> (Option<String>, Option<String>) {
    let located = g.locate(None, None, text);
    (located.district, located.street.map(|s| s.street))
}

fn both(district: &str, street: &str) -> (Option<String>, Option<String>) {
    (Some(district.to_owned()), Some(street.to_owned()))
}

#[test]
fn every_district_has_its_streets() {
    let g = gazetteer();
    let mut per_district = std::collections::BTreeMap::new();
    for (street, district) in g.streets() {
        *per_district.entry(district.to_owned()).or_insert(0) += 1;
        assert!(
            hotline_classifier::STREET_SUFFIXES
                .iter()
                .any(|s| street.ends_with(s)),
            "{street}"
        );
    }
    assert_eq!(per_district.len(), 16, "{per_district:?}");
    let total: usize = per_district.values().sum();
    assert!((330..=350).contains(&total), "{total}: {per_district:?}");
    assert_eq!(per_district["东城区"], 17);
    assert_eq!(per_district["西城区"], 15);
    assert_eq!(per_district["朝阳区"], 43);
}

#[test]
fn real_street_names_are_recognised_with_their_district() {
    let g = gazetteer();
    let cases = [
        ("朝阳区望京街道某小区楼下饭馆油烟大", "朝阳区", "望京街道"),
        ("东城区交道口街道南锣鼓巷游客太多", "东城区", "交道口街道"),
        ("西城区什刹海街道后海酒吧噪音", "西城区", "什刹海街道"),
        ("海淀区学院路街道共享单车乱停", "海淀区", "学院路街道"),
        ("丰台区方庄街道芳城园小区停车难", "丰台区", "方庄街道"),
        ("石景山区鲁谷街道路灯不亮", "石景山区", "鲁谷街道"),
        ("门头沟区潭柘寺镇村里缺水", "门头沟区", "潭柘寺镇"),
        ("房山区良乡镇小区供暖不热", "房山区", "良乡镇"),
        ("通州区宋庄镇画家村施工扰民", "通州区", "宋庄镇"),
        ("顺义区后沙峪镇小区垃圾没人清", "顺义区", "后沙峪镇"),
        ("昌平区回龙观街道地铁站拥挤", "昌平区", "回龙观街道"),
        ("大兴区西红门镇商场门口占道", "大兴区", "西红门镇"),
        ("怀柔区雁栖镇民宿噪音", "怀柔区", "雁栖镇"),
        ("平谷区金海湖镇景区收费", "平谷区", "金海湖镇"),
        ("密云区古北口镇停车乱收费", "密云区", "古北口镇"),
        ("延庆区八达岭镇旅游大巴占道", "延庆区", "八达岭镇"),
        // An official alternative name: 将台乡 is 将台地区.
        ("朝阳区将台乡有人私搭乱建", "朝阳区", "将台地区"),
        // The 办事处 behind a name changes nothing.
        ("反映东花市街道办事处不作为", "东城区", "东花市街道"),
    ];
    for (text, district, street) in cases {
        assert_eq!(place(&g, text), both(district, street), "{text}");
    }
}

#[test]
fn a_street_written_without_its_suffix_is_recognised_where_unambiguous() {
    let g = gazetteer();
    assert_eq!(
        place(&g, "望京这边小区电梯又坏了"),
        both("朝阳区", "望京街道")
    );
    assert_eq!(
        place(&g, "住在三里屯，酒吧太吵"),
        both("朝阳区", "三里屯街道")
    );
    assert_eq!(
        place(&g, "交道口附近胡同里私装地锁"),
        both("东城区", "交道口街道")
    );
    // Longest match: 建国门外 is 朝阳区's 建外街道, not 东城区's 建国门街道;
    // 朝阳门外 is 朝外街道, 朝阳门 alone is 东城区's 朝阳门街道.
    assert_eq!(
        place(&g, "建国门外大街施工到半夜"),
        both("朝阳区", "建外街道")
    );
    assert_eq!(
        place(&g, "朝阳门外大街路灯坏了"),
        both("朝阳区", "朝外街道")
    );
    assert_eq!(
        place(&g, "朝阳门内南小街垃圾站臭"),
        both("东城区", "朝阳门街道")
    );
}

#[test]
fn near_misses_are_not_streets() {
    let g = gazetteer();
    for text in [
        // 东四 is a 街道 only written in full: 东四环 is a ring road.
        "东四环辅路上大货车太吵",
        // 平房 (a bungalow), 光明 and 胜利 are words before they are places.
        "我家是平房，冬天取暖难",
        "希望早日看到光明，取得胜利",
        // 金盏花 is a flower, not 金盏地区; 清河 and 沙河 are rivers too.
        "阳台上种的金盏花被邻居剪了",
        // 前门 is the front door.
        "小区前门被堵住了",
        // 天坛 is 东城区's, but 天坛医院 is in 丰台区: full form only.
        "天坛医院挂号太难",
        // 苹果园 is any orchard.
        "村里的苹果园被占了",
        // 海淀地区 is the district, not 海淀镇; 亦庄地区 the development area.
        "海淀地区很多小区停车难",
        "亦庄地区的快递不送上门",
    ] {
        assert_eq!(g.locate(None, None, text).street, None, "{text}");
    }
    assert_eq!(
        place(&g, "东四街道的胡同停车难"),
        both("东城区", "东四街道")
    );
    assert_eq!(
        place(&g, "朝阳区平房地区道路积水"),
        both("朝阳区", "平房地区")
    );
}

#[test]
fn a_name_in_two_districts_needs_its_district() {
    let g = gazetteer();
    // 八里庄街道 is in 朝阳区 and in 海淀区.
    assert_eq!(place(&g, "八里庄街道某小区停车收费不合理"), (None, None));
    assert_eq!(
        place(&g, "海淀区八里庄街道某小区停车收费不合理"),
        both("海淀区", "八里庄街道")
    );
    assert_eq!(
        place(&g, "朝阳区八里庄街道某小区停车收费不合理"),
        both("朝阳区", "八里庄街道")
    );
    let located = g.locate(Some("海淀区"), None, "八里庄街道停车收费不合理");
    assert_eq!(
        located.street.map(|s| (s.street, s.district)),
        Some(("八里庄街道".to_owned(), "海淀区".to_owned()))
    );
    // A field naming it must say which.
    assert!(g.street("八里庄街道", None).is_err());
    assert_eq!(
        g.street("八里庄街道", Some("朝阳区")).map(|s| s.district),
        Ok("朝阳区".to_owned())
    );
    assert_eq!(
        g.street("北京市海淀区八里庄街道", None).map(|s| s.district),
        Ok("海淀区".to_owned())
    );
}

#[test]
fn the_district_wins_a_disagreement_and_a_street_fills_a_missing_district() {
    let g = gazetteer();
    // The district field says 海淀区, the text 望京 (朝阳区): no street.
    let located = g.locate(Some("海淀区"), None, "望京街道某小区噪音");
    assert_eq!(located.district.as_deref(), Some("海淀区"));
    assert_eq!(located.street, None);
    // A full district name in the text beats a street elsewhere.
    assert_eq!(
        place(&g, "海淀区居民反映望京街道有人占道"),
        (Some("海淀区".to_owned()), None)
    );
    // A street of the district is kept when another is dropped.
    let located = g.locate(Some("海淀区"), None, "望京街道的人到中关村街道上班");
    assert_eq!(
        located.street.map(|s| s.street).as_deref(),
        Some("中关村街道")
    );
    // No district written: the street's fills it (学院路街道 is only a
    // street's name; 学院路 alone is a road anywhere).
    assert_eq!(
        place(&g, "学院路街道共享单车乱停"),
        both("海淀区", "学院路街道")
    );
    assert_eq!(g.locate(None, None, "学院路上共享单车乱停").street, None);
}

#[test]
fn the_address_comes_before_the_text() {
    let g = gazetteer();
    let located = g.locate(
        None,
        Some("北京市通州区梨园镇某小区3号楼"),
        "上次在望京反映过，邻居装修噪音",
    );
    assert_eq!(located.district.as_deref(), Some("通州区"));
    assert_eq!(located.street.map(|s| s.street).as_deref(), Some("梨园镇"));
    // An address without a street: the text's, if it agrees.
    let located = g.locate(None, Some("朝阳区某小区"), "望京这边饭馆油烟大");
    assert_eq!(
        located.street.map(|s| s.street).as_deref(),
        Some("望京街道")
    );
}

#[test]
fn a_street_field_is_read_against_the_gazetteer() {
    let g = gazetteer();
    let named = |field: &str| g.street(field, None).map(|s| s.street);
    assert_eq!(named(" 望京街道 "), Ok("望京街道".to_owned()));
    assert_eq!(named("望京"), Ok("望京街道".to_owned()));
    assert_eq!(named("朝阳区将台乡"), Ok("将台地区".to_owned()));
    assert!(named("望京西园").is_err());
    assert!(named("").is_err());
    // Another district's street.
    let wrong = g.street("望京街道", Some("海淀区"));
    assert!(
        wrong.as_ref().is_err_and(|m| m.contains("朝阳区")),
        "{wrong:?}"
    );
}

#[test]
fn a_broken_street_list_is_refused_naming_the_street() {
    let g = Gazetteer::from_toml_str("gazetteer", DISTRICTS).unwrap_or_else(|e| panic!("{e}"));
    for (text, needle) in [
        (
            "[[district]]\nname = \"火星区\"\nstreets = [\"甲街道\"]\n",
            "火星区",
        ),
        (
            "[[district]]\nname = \"朝阳区\"\nstreets = [\"望京\"]\n",
            "望京",
        ),
        (
            "[[district]]\nname = \"朝阳区\"\nstreets = [\"甲街道 甲\", \"甲镇 甲\"]\n",
            "甲",
        ),
        (
            "[[district]]\nname = \"丰台区\"\nstreets = [\"丰台街道 丰台\"]\n",
            "丰台",
        ),
    ] {
        let error = g
            .clone()
            .with_streets("streets", text)
            .err()
            .map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains(needle)),
            "{error:?}"
        );
    }
}
