package dlp

// fieldMarkupSep reports whether text[i] separates a secret-named field
// from its value in markup or code rather than in an assignment: the '>'
// of an XML element ("<password>v</password>", Maven settings, .NET
// config), or the ',' after a quoted name whose value is quoted too, as a
// call writes it ("define('DB_PASSWORD', 'v')", `os.setenv("API_TOKEN",
// "v")`, `config.set("password", "v")`). fieldAt checks the name before
// it: an element's name follows '<', the call's is quoted.
func fieldMarkupSep(text string, i int) bool {
	switch text[i] {
	case '>':
		return i+1 < len(text) && text[i+1] != '<'
	case ',':
		if i == 0 || text[i-1] != '"' && text[i-1] != '\'' {
			return false
		}
		j := i + 1
		for j < len(text) && j-i <= 4 && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		return j < len(text) && (text[j] == '"' || text[j] == '\'')
	}
	return false
}
