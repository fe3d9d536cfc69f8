package cache

// The word lists the semantic layer's text analysis relies on. They are English and
// deliberately small: a word missing from a critical list is still compared exactly
// in strict verification (it is an ordinary content word); a word wrongly listed as
// filler is the risk, so the filler lists hold only words that never carry the question.

// words builds a set from a space-separated list.
func words(s string) map[string]bool {
	m := map[string]bool{}
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\n' || s[i] == '\t' {
			if start >= 0 {
				m[s[start:i]] = true
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return m
}

// stopWords carry grammar, not the question; they are ignored by strict verification
// and by the local embedder. Direction markers among them (to, from, in, ...) are
// checked by role (see roleMarkers).
var stopWords = words(`a an the is are was were be been being am of in on at for to from
	into with by about as and do does did done i me my mine you your yours it its this that
	these those there here what which some any so then than via per vs versus thing things
	one's s get got give us we our they them their he she his her him`)

// fillerWords are politeness and request wrappers: "please", "can you tell me", "hey".
var fillerWords = words(`please pls plz kindly hey hi hello thanks thank thx just quick
	question quickly tell know want wanna wondering wonder curious actually basically
	really simply explain describe show help anyone someone like would could can will
	mind let lets okay ok um uh well so alright greetings cheers appreciated hiya ty tysm
	possibly perhaps somebody anybody folks`)

// modalWords are filler before "you" ("can you ...") and critical otherwise ("can I",
// "should I", "must we").
var modalWords = words(`can could would will should must may might shall`)

// negationWords flip a question's meaning; their multiset must match exactly.
var negationWords = words(`not no never none nothing nobody nowhere neither nor without
	cannot hardly nope`)

// questionWords change what is asked for ("who" against "where"); "what" and "which"
// are stop words since "what is" and "which is" ask the same.
var questionWords = words(`who whom whose where when why how`)

// directionWords are comparatives, superlatives, antonym pairs and directions: they
// must match exactly, never through typo tolerance.
var directionWords = words(`more less most least better best worse worst bigger biggest
	larger largest smaller smallest higher highest lower lowest faster fastest slower
	slowest cheaper cheapest dearer older oldest younger youngest newer newest longer
	longest shorter shortest greater greatest fewer fewest hotter hottest colder coldest
	heavier heaviest lighter lightest richer richest poorer poorest easier easiest harder
	hardest safer safest max maximum min minimum above below over under before after up
	down out off inside outside first last top bottom left right north south east west
	increase decrease raise lower add remove delete insert enable disable start stop open
	close encrypt decrypt encode decode compress decompress import export upload download
	push pull buy sell win lose install uninstall allow deny true false yes accept reject
	or and/or except only all every each both either same different early late earlier
	later previous next old new positive negative plus minus times divided multiply
	divide subtract sum product ascending descending asc desc`)

// unitWords are units of measure and currencies; they must match exactly and in order.
var unitWords = words(`km kilometer kilometre m meter metre cm centimeter mm millimeter
	mile yard foot feet ft inch inches kg kilogram g gram mg lb lbs pound ounce oz ton
	tonne l liter litre ml milliliter gallon gal quart pint cup tablespoon teaspoon tbsp
	tsp celsius fahrenheit kelvin mph kph kmh hz khz mhz ghz b kb mb gb tb pb kib mib gib
	byte bit kbps mbps gbps w kw mw watt kwh v volt amp ampere ohm usd eur gbp jpy cny inr
	chf cad aud dollar euro yen yuan rupee franc peso percent percentage degree radian
	second sec ms millisecond microsecond nanosecond ns minute hour hr day week month year
	decade century millennium calorie kcal joule acre hectare psi bar atm pascal pa knot`)

// dateWords name months, weekdays and relative days; they must match exactly.
var dateWords = words(`january february march april may june july august september
	october november december jan feb mar apr jun jul aug sep sept oct nov dec monday
	tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri
	sat sun today tomorrow yesterday tonight weekend spring summer autumn fall winter
	morning afternoon evening night noon midnight am pm bc ad bce ce`)

// numberWords map spelled numbers to digits, so "two" and "2" agree and both are numbers.
var numberWords = map[string]string{
	"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
	"seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
	"thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
	"eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
	"fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
	"hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
	"trillion": "1000000000000", "dozen": "12", "half": "0.5", "quarter": "0.25",
	"twice": "x2", "double": "x2", "triple": "x3", "single": "1", "pair": "2",
	"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
	"sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}

// sentenceVerbs are words often capitalised at the start of a question; a capitalised
// first word not listed here (nor a stop, filler or question word) is taken as a name.
var sentenceVerbs = words(`explain tell give write list describe show convert compare
	translate summarize summarise define calculate compute find make create generate name
	is are was were can could should would will do does did what which who where when why
	how in on at for if hey hi hello please in as to from with by`)

// roleMarkers are the words whose following content word must agree when both texts use
// the marker: "miles to km" against "km to miles", "grams in a pound" against "pounds in
// a gram", "Paris to London" against "London to Paris", "every square is a rectangle"
// against "every rectangle is a square". A marker also starts a phrase that may move as
// a whole ("in Python, how do I ..."); see compareOrder. Markers are compared after
// markerCanon ("into" is "to"); "use" is also "using" (the lexicon's lemma).
var roleMarkers = words(`to from into in than vs versus per over by of on onto at for
	with use as before after under above below behind toward towards against every all
	each between among about`)

// markerCanon maps role markers that mean the same to one of them.
var markerCanon = map[string]string{"into": "to", "onto": "on", "towards": "toward", "versus": "vs"}

// bareContractions are contractions written without their apostrophe, expanded like
// "don't" and "what's". Words that are also ordinary words ("ill", "id", "well", "were")
// are left out.
var bareContractions = map[string][]string{
	"dont": {"do", "not"}, "doesnt": {"does", "not"}, "didnt": {"did", "not"},
	"isnt": {"is", "not"}, "arent": {"are", "not"}, "wasnt": {"was", "not"},
	"werent": {"were", "not"}, "cant": {"can", "not"}, "wont": {"will", "not"},
	"shouldnt": {"should", "not"}, "wouldnt": {"would", "not"}, "couldnt": {"could", "not"},
	"havent": {"have", "not"}, "hasnt": {"has", "not"}, "hadnt": {"had", "not"},
	"mustnt": {"must", "not"}, "neednt": {"need", "not"},
	"whats": {"what", "is"}, "hows": {"how", "is"}, "wheres": {"where", "is"},
	"whos": {"who", "is"}, "thats": {"that", "is"}, "im": {"i", "am"}, "ive": {"i", "have"},
	"youre": {"you", "are"}, "theyre": {"they", "are"}, "gonna": {"going", "to"},
	"wanna": {"want", "to"}, "u": {"you"}, "ur": {"your"}, "ya": {"you"}, "thru": {"through"},
}
