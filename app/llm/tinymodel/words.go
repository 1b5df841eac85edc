package tinymodel

// commonWords is the embedding model's whole-word vocabulary: common English
// words, plus vocabulary typical of documents, business and software. Any
// other word is split into the suffix, letter and digit pieces below, so all
// ASCII text tokenizes. Duplicates are ignored; order fixes the token ids.
const commonWords = `
the of and to a in is it you that he was for on are with as i his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how said
an each she which do their time if will way about many then them write would like so these her
long make thing see him two has look more day could go come did number sound no most people my
over know water than call first who may down side been now find any new work part take get place
made live where after back little only round man year came show every good me give our under name
very through just form sentence great think say help low line differ turn cause much mean before
move right boy old too same tell does set three want air well also play small end put home read
hand port large spell add even land here must big high such follow act why ask men change went
light kind off need house picture try us again animal point mother world near build self earth
father head stand own page should country found answer school grow study still learn plant cover
food sun four between state keep eye never last let thought city tree cross farm hard start might
story saw far sea draw left late run while press close night real life few north open seem together
next white children begin got walk example ease paper group always music those both mark often
letter until mile river car feet care second book carry took science eat room friend began idea
fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual
young ready above ever red list though feel talk bird soon body dog family direct pose leave song
measure door product black short numeral class wind question happen complete ship area half rock
order fire south problem piece told knew pass since top whole king space heard best hour better
true during hundred five remember step early hold west ground interest reach fast verb sing listen
six table travel less morning ten simple several vowel toward war lay against pattern slow center
love person money serve appear road map rain rule govern pull cold notice voice unit power town
fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct
able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing
course stay wheel full force blue object decide surface deep moon island foot system busy test
record boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape
equate miss brought heat snow tire bring yes distant fill east paint language among grand ball yet
wave drop heart am present heavy dance engine position arm wide sail material size vary settle
speak weight general ice matter circle pair include divide syllable felt perhaps pick sudden count
square reason length represent art subject region energy hunt probable bed brother egg ride cell
believe fraction forest sit race window store summer train sleep prove lone exercise wall catch
mount wish sky board joy winter sat written wild instrument kept glass grass cow job edge sign
visit past soft fun bright gas weather month million bear finish happy hope flower clothe strange
gone jump baby eight village meet root buy raise solve metal whether push seven paragraph third
shall held hair describe cook floor either result burn hill safe cat century consider type law bit
coast copy phrase silent tall sand soil roll temperature finger industry value fight lie beat
excite natural view sense ear else quite broke case middle kill son lake moment scale loud spring
observe child straight consonant nation dictionary milk speed method organ pay age section dress
cloud surprise quiet stone tiny climb cool design poor lot experiment bottom key iron single stick
flat twenty skin smile crease hole trade melody trip office receive row mouth exact symbol die
least trouble shout except wrote seed tone join suggest clean break lady yard rise bad blow oil
blood touch grew cent mix team wire cost lost brown wear garden equal sent choose fell fit flow
fair bank collect save control decimal gentle woman captain practice separate difficult doctor
please protect noon whose locate ring character insect caught period indicate radio spoke atom
human history effect electric expect crop modern element hit student corner party supply bone rail
imagine provide agree thus capital chair danger fruit rich thick soldier process operate guess
necessary sharp wing create neighbor wash bat rather crowd corn compare poem string bell depend
meat rub tube famous dollar stream fear sight thin triangle planet hurry chief colony clock mine
tie enter major fresh search send yellow gun allow print dead spot desert suit current lift rose
continue block chart hat sell success company subtract event particular deal swim term opposite
wife shoe shoulder spread arrange camp invent cotton born determine quart nine truck noise level
chance gather shop stretch throw shine property column molecule select wrong gray repeat require
broad prepare salt nose plural anger claim continent oxygen sugar death pretty skill women season
solution magnet silver thank branch match suffix especially fig afraid huge sister steel discuss
forward similar guide experience score apple bought led pitch coat mass card band rope slip win
dream evening condition feed tool total basic smell valley nor double seat arrive master track
parent shore division sheet substance favor connect post spend chord fat glad original share
station dad bread charge proper bar offer segment slave duck instant market degree populate chick
dear enemy reply drink occur support speech nature range steam motion path liquid log meant
quotient teeth shell neck

fox dog cat lazy jumps jumped jumping quickly slowly over under brown red green blue purple orange
pink gray grey happy sad angry calm tired hungry thirsty sick healthy rich poor young old new fresh
apple banana orange grape lemon cherry peach pear plum berry strawberry tomato potato onion garlic
carrot pepper rice bread butter cheese milk cream coffee tea juice wine beer soup salad pizza pasta
chicken beef pork lamb fish egg breakfast lunch dinner kitchen recipe bake boil fry cook meal

document documents file files folder folders page pages chapter section paragraph sentence word words
text title heading summary abstract introduction conclusion appendix reference references citation
citations quote source sources note notes draft version edit edits author authors editor publish
published library archive index catalog search query queries result results answer answers question
questions ask asked asking reply response request requests read reading write writing written
upload uploaded download downloaded import export attach attachment attachments pdf html markdown
image images photo photos picture video audio scan scanned printed print printer copy copies

quarterly annual annually monthly weekly daily yearly revenue revenues income profit profits loss
losses tax taxes taxation invoice invoices receipt receipts payment payments paid pay payroll salary
salaries wage wages budget budgets cost costs expense expenses price prices pricing sale sales
customer customers client clients vendor vendors supplier suppliers order orders purchase purchases
contract contracts agreement agreements account accounts accounting balance sheet statement
statements finance financial bank banking loan loans credit debit interest rate rates dividend
dividends stock stocks share shares shareholder shareholders investor investors investment
investments asset assets liability liabilities equity capital cash fund funds funding growth
forecast forecasts report reports quarter fiscal audit audits auditor compliance regulation
regulations policy policies insurance claim claims refund refunds discount discounts fee fees
business businesses company companies corporation firm enterprise startup industry market markets
marketing strategy strategies management manager managers employee employees staff team teams
department departments office offices meeting meetings schedule calendar deadline deadlines project
projects task tasks goal goals plan plans proposal proposals review reviews approval approve
approved decision decisions board director directors executive chief officer president vice
member members partner partners owner owners service services product products brand launch

computer computers software hardware program programs programming code coding developer developers
application applications app apps server servers database databases data network networks internet
web website websites browser email emails message messages password passwords login user users
account settings configuration install installation update updates upgrade bug bugs error errors
fix fixed feature features release releases test tests testing deploy deployment cloud storage
memory disk cpu processor model models machine learning artificial intelligence neural language
chat chatbot assistant embedding embeddings vector vectors token tokens prompt prompts context
retrieval generation local privacy private secure security encryption backup backups sync api
interface command commands terminal script scripts function functions variable variables
algorithm algorithms performance speed latency memory cache logs logging monitor monitoring

science physics chemistry biology mathematics math history geography economics politics philosophy
psychology medicine health hospital doctor doctors nurse patient patients disease diseases treatment
drug drugs vaccine virus infection symptom symptoms pain heart brain blood lung lungs cancer
diet exercise sleep stress mental weather climate rain rainy snow storm storms wind sunny cloudy
temperature hot cold warm cool summer winter autumn fall spring season seasons january february
march april may june july august september october november december monday tuesday wednesday
thursday friday saturday sunday today tomorrow yesterday morning afternoon evening night week weeks
month months year years decade century hour hours minute minutes second seconds time times date dates

house home apartment room rooms bedroom bathroom kitchen garden garage door doors window windows
roof wall walls floor floors stairs table tables chair chairs bed beds desk lamp sofa couch
car cars bus buses train trains plane planes airport flight flights ticket tickets hotel hotels
travel trip trips vacation holiday holidays beach mountain mountains river rivers lake lakes ocean
city cities town towns village country countries state states street streets road roads bridge
school schools university college student students teacher teachers class classes lesson lessons
course courses exam exams grade grades homework study studies research paper papers thesis

family families mother father parent parents child children son daughter brother sister baby
husband wife friend friends neighbor people person man men woman women boy girl kid kids
dog dogs cat cats bird birds fish horse horses cow cows pig pigs sheep chicken chickens mouse mice
tree trees flower flowers grass leaf leaves plant plants forest forests animal animals insect wolf
lion tiger bear bears rabbit deer snake monkey elephant whale shark dolphin frog bee bees

run running ran walk walking walked jump jumping sit sitting stand standing sleep sleeping eat
eating drink drinking speak speaking talk talking listen listening watch watching play playing
work working worked build building built buy buying bought sell selling sold give giving gave
take taking took make making made find finding found keep keeping kept think thinking thought
know knowing knew known see seeing seen look looking looked want wanted need needed use used using
try tried trying help helped helping start started starting stop stopped stopping open opened
close closed closing move moved moving send sent sending receive received create created creating
delete deleted remove removed add added adding change changed changing show showed shown explain
explained describe described compare compared calculate calculated measure measured increase
increased decrease decreased reduce reduced improve improved include included contains contain

good better best bad worse worst big bigger biggest small smaller smallest large larger largest
long longer short shorter high higher highest low lower lowest fast faster slow slower easy easier
hard harder important simple complex main major minor total full empty early late recent current
previous next final first last public private personal general special common rare strong weak
true false correct wrong right left top bottom inside outside internal external available
free expensive cheap beautiful ugly clean dirty safe dangerous quiet loud dark bright heavy light

what who whom whose which where when why how whatever whenever wherever however therefore because
although though unless until while since during before after above below between among within
without through across against toward towards around behind beside besides beyond near onto upon
into about also very really just only even still already yet almost always never often sometimes
usually rarely maybe perhaps please thanks thank hello goodbye yes no not none nothing something
anything everything someone anyone everyone nobody somebody anybody everybody here there this that
these those each every either neither both few many much more most less least several enough
`

// stopWords carry little meaning; the embedding model gives them a small
// weight so that texts sharing only "the", "a" or "of" stay dissimilar.
const stopWords = `
a an the and or but nor so yet of to in on at by for with from as into onto upon about
is are was were be been being am do does did doing have has had having will would shall should
can could may might must i me my mine we us our ours you your yours he him his she her hers it
its they them their theirs this that these those there here what which who whom whose when where
why how if then than too very just also not no only own same such both each all any some
`

// suffixPieces are word continuations (WordPiece "##" pieces) so that
// unknown inflections of known words keep most of their meaning:
// "invoiced" -> "invoice" + "d".
var suffixPieces = []string{
	"s", "es", "ed", "d", "ing", "ly", "er", "ers", "est", "ion", "ions", "tion", "tions",
	"ment", "ments", "ness", "al", "able", "ible", "ful", "less", "ity", "ive", "ize", "ized",
	"ise", "ised", "y", "ies", "ied", "n", "en",
}
