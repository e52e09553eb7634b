package configs

// Skills is skills.yaml: the skill ids queues require and agents hold.
// Topics are subject areas ("labor"); languages are language codes ("ko",
// "en", "ksl" for Korean Sign Language).
type Skills struct {
	Topics    []Skill `yaml:"topics"`
	Languages []Skill `yaml:"languages"`
}

// Skill is one skill id with display names.
type Skill struct {
	ID     string `yaml:"id"`
	NameKo string `yaml:"name_ko"`
	NameEn string `yaml:"name_en"`
}

// Has reports whether id is a known topic or language.
func (s *Skills) Has(id string) bool { return s.IsTopic(id) || s.IsLanguage(id) }

// IsTopic reports whether id is a known topic.
func (s *Skills) IsTopic(id string) bool {
	for _, k := range s.Topics {
		if k.ID == id {
			return true
		}
	}
	return false
}

// IsLanguage reports whether id is a known language.
func (s *Skills) IsLanguage(id string) bool {
	for _, k := range s.Languages {
		if k.ID == id {
			return true
		}
	}
	return false
}
