"""Generate the labelled OKI social-media corpus (classifiers/data/corpus.jsonl).

Everything here was written for this project: problem phrases per taxonomy topic, complaint
and non-complaint frames, OKI place mentions (from the MIT-licensed official region list),
Palembang/Komering-flavoured slang, typos, emoji and hashtags. A fixed seed makes the output
byte-identical on every run:

    .venv/bin/python classifiers/data/make_corpus.py

Each row carries the ids of the frame and the phrase it came from, and a ``split``:
phrases and frames are held out *as templates* (20 % of each), and every row built from a
held-out phrase or a held-out frame is ``test``. The held-out score therefore measures
reading unseen wording, not recognising a template seen in training.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from classifiers.gazetteer import get_gazetteer  # noqa: E402
from classifiers.normalise import normalise  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20240517
OUT = HERE / "corpus.jsonl"
# Rows per topic: complaints and non-complaints grow together so their ratio stays ~6.5:1.
COMPLAINTS_PER_TOPIC = 260
GOOD_PER_TOPIC = 40

# ---------------------------------------------------------------------------------------------
# Topic phrases. Complaint phrases describe a problem; "good" phrases describe the same domain
# without a complaint (announcement, praise, neutral news). {x|y|z} picks one alternative.
# ---------------------------------------------------------------------------------------------
COMPLAINTS: dict[str, list[str]] = {
    "infrastruktur": [
        "PJU di gang kami padam sudah {tiga hari|seminggu}, mohon lampunya diganti",
        "saluran air depan rumah dangkal dan perlu dikeruk, tiap hujan {tergenang|meluap}",
        "genangan air di jalan tiap hujan karena saluran tersumbat",
        "paving jalan kampung {lepas|ambles}, mohon dipaving ulang",
        "kabel {wifi|telepon} menjuntai rendah melintang di jalan, bahaya bagi pengendara",
        "plengsengan sungai {retak|longsor}, mohon diperbaiki sebelum ambrol",
        "jalan kampung masih tanah, kalau hujan becek, mohon diaspal",
        "jalan {poros|desa|kabupaten} rusak parah, lubang {segede|sebesar} kolam",
        "jalan berlubang {dimana-mana|sepanjang 2 km}, motor warga jatuh tiap hari",
        "jembatan {gantung|kayu|besi} {mau ambruk|sudah miring|papannya lapuk}",
        "jalan tanah kalau hujan jadi lumpur, {mobil|motor} dak pacak lewat",
        "truk {sawit|pengangkut} amblas di jalan rusak, akses warga putus",
        "jalan {ancur|hancur} nian, lumpur sedengkul, motor harus didorong",
        "aspal baru {3 bulan|seminggu} sudah mengelupas lagi, proyek asal jadi",
        "lampu jalan mati {sudah sebulan|berbulan-bulan}, malam gelap gulita rawan begal",
        "PJU di {simpang|jalan} {kami|kampung kami} padam dan belum diganti",
        "drainase tersumbat, tiap hujan air meluap ke jalan",
        "gorong-gorong ambrol, jalan amblas setengah badan",
        "{jalan|jembatan} penghubung antar desa putus, anak sekolah harus memutar jauh",
        "jalan cor {retak|pecah} dan bergelombang, baru dibangun tahun lalu",
        "siring di pinggir jalan {jebol|runtuh}, air masuk ke rumah warga",
        "kantor desa {bocor|atapnya rubuh}, dak pernah diperbaiki",
        "jalan poros jadi kubangan kerbau, {truk|mobil} terperosok",
        "lubang di tengah jalan tidak diberi tanda, sudah {tiga|banyak} orang celaka",
        "jalan licin berlumpur, {ambulans|mobil jenazah} tidak bisa masuk desa",
        "trotoar rusak dan paving lepas-lepas",
        "{tiang lampu|tiang PJU} miring mau roboh ke jalan",
        "jalan rabat beton putus di tengah, baru separuh dikerjakan kontraktor kabur",
        "jembatan {beton|penyeberangan} retak, kendaraan besar masih lewat",
        "pasar {becek|atap bocor|lantai hancur}, bangunan pasar rusak tidak dirawat",
        "perbaikan jalan {setengah hati|cuma tambal sulam}, seminggu rusak lagi",
    ],
    "air_bersih": [
        "mohon bantuan petugas PDAM cek meteran, pemakaian {tidak wajar|melonjak}",
        "air PDAM kecil sekali sejak {minggu lalu|kemarin}, sudah lapor belum ada petugas",
        "air PDAM mati {tiga hari|seminggu|dari kemarin}, warga terpaksa beli air galon",
        "air ledeng keruh {kecoklatan|bau lumpur|ada cacingnya}",
        "air PDAM cuma ngalir tengah malam, siang kering kerontang",
        "tagihan PDAM {naik dua kali lipat|membengkak} padahal air jarang ngalir",
        "pipa PDAM bocor di {pinggir jalan|depan rumah} dibiarkan berhari-hari",
        "sambungan baru PDAM sudah bayar {tiga bulan|lama} belum dipasang",
        "meteran air {rusak|macet} tapi tagihan tetap jalan",
        "air {sumur|bor} kering, bantuan air bersih tidak pernah datang",
        "sudah lapor ke PDAM Tirta Agung berkali-kali, air tetap {mati|kecil}",
        "air bersih susah, warga mandi pakai air sungai yang kotor",
        "air PDAM berbau {kaporit|amis|busuk} dan bikin gatal",
        "aliran air PDAM kecil nian, bak mandi dak penuh-penuh",
        "petugas PDAM {cabut meteran|putus sambungan} padahal sudah bayar",
        "tandon air desa {bocor|rusak} sudah setahun",
        "air PDAM mati pas mau lebaran, {tolong|mohon} kejelasan",
        "kualitas air {ledeng|PDAM} jelek, ada endapan pasir",
        "sumur bor bantuan {rusak|mangkrak} tidak bisa dipakai",
        "PDAM tidak ada pemberitahuan, air mati {mendadak|seharian}",
    ],
    "listrik": [
        "listrik padam {lagi|terus}, sehari bisa {lima|tiga} kali mati",
        "PLN mati lampu dari {sore|subuh} sampai sekarang belum nyala",
        "listrik byar pet, {kulkas|tv|pompa air} warga rusak",
        "tegangan listrik turun naik, lampu kedip-kedip",
        "tagihan listrik {melonjak|naik drastis} padahal pemakaian sama",
        "token listrik {sudah dibeli|sudah diisi} tapi tidak masuk",
        "kabel listrik {menjuntai|putus} ke jalan, bahaya nian",
        "tiang listrik {miring|keropos} mau tumbang",
        "desa kami belum teraliri listrik PLN sampai sekarang",
        "pemadaman bergilir tanpa jadwal, {usaha|warung} warga rugi",
        "lapor ke PLN ULP tidak ada respon, listrik masih padam",
        "trafo {meledak|rusak} sudah tiga hari belum diganti",
        "mati lampu pas anak-anak mau ujian, {gelap|belajar pakai lilin}",
        "pasang baru listrik {diminta uang tambahan|lama nian}",
        "listrik sering mati kalau hujan sedikit saja",
        "petugas PLN {lambat|tidak datang} padahal gangguan sudah dilaporkan",
    ],
    "kesehatan": [
        "ada warga kena DBD tapi fogging belum dilakukan di lingkungan kami",
        "rujukan BPJS dari puskesmas ke rumah sakit dipersulit",
        "pelayanan di puskesmas {lama|tidak ramah}, pasien dibentak petugas loket",
        "pelayanan di {RSUD|rumah sakit} lambat, pasien {menunggu|antri} berjam-jam",
        "puskesmas {tutup|kosong} pas jam kerja, dokter tidak ada",
        "pasien BPJS {ditolak|disuruh bayar} di rumah sakit",
        "ambulans desa {rusak|tidak ada sopir}, orang sakit diangkut pakai motor",
        "kasus DBD {meningkat|banyak}, fogging belum juga dilakukan",
        "obat di puskesmas {habis|kosong}, disuruh beli sendiri di apotek",
        "perawat {jutek|judes|marah-marah} sama pasien",
        "IGD {penuh|tidak melayani}, pasien kritis dibiarkan di lorong",
        "balita gizi buruk tidak ditangani, posyandu tidak jalan",
        "antrean BPJS di {RSUD|puskesmas} mulai subuh tetap tidak kebagian",
        "rujukan dipersulit, pasien dipingpong antar rumah sakit",
        "bidan desa {jarang ada|pindah}, ibu hamil susah periksa",
        "kartu BPJS {ditolak|tidak bisa dipakai} di puskesmas padahal iuran lancar",
        "puskesmas pembantu {rusak|mangkrak} tidak ada petugas",
        "banyak warga {diare|demam berdarah}, petugas kesehatan belum turun",
        "stunting di desa tinggi tapi {program|bantuan} gizi tidak sampai",
        "pasien {meninggal|kritis} karena telat ditangani di IGD",
        "vaksin anak di posyandu {habis|tidak datang}",
    ],
    "pendidikan": [
        "ijazah anak ditahan sekolah karena tunggakan {SPP|uang gedung}",
        "dana PIP anak kami belum cair padahal sudah terdaftar",
        "anak kami tidak diterima di SMP negeri lewat jalur {zonasi|afirmasi}",
        "gedung SD {rusak|atapnya bocor|hampir roboh}, murid belajar di teras",
        "PPDB zonasi {kacau|curang}, anak kami tidak diterima padahal dekat",
        "sekolah {minta pungutan|narik uang} seragam dan buku mahal nian",
        "guru honor {jarang masuk|cuma dua orang} untuk enam kelas",
        "dana BOS tidak jelas, {kursi|meja} murid rusak tidak diganti",
        "ruang kelas {kurang|sempit}, murid belajar bergantian",
        "anak SMP harus {nyeberang sungai|jalan 5 km} ke sekolah",
        "ijazah ditahan sekolah karena belum bayar {SPP|uang komite}",
        "PIP atau KIP {tidak cair|dipotong} oleh pihak sekolah",
        "guru {galak|kasar|main pukul} sama murid",
        "sekolah kekurangan guru, {kepala sekolah|satu guru} ngajar semua mapel",
        "WC sekolah {rusak|tidak ada air}, anak-anak terpaksa pulang",
        "pendaftaran sekolah online {error|susah}, server down terus",
        "uang komite sekolah {naik|memberatkan} orang tua murid",
        "bangunan PAUD {terbengkalai|tidak dipakai} padahal anak banyak",
        "jalan ke sekolah rusak tapi pihak sekolah tetap {hukum|marahi} murid telat",
        "TK dan SD {tutup|libur} karena guru tidak digaji",
    ],
    "adminduk": [
        "mohon bantuan konsolidasi NIK, data di KK {tidak sesuai|belum terdaftar}",
        "urus pindah datang {ditolak|dipersulit}, disuruh balik ke kelurahan",
        "cetak akta {kelahiran|kematian} sudah {dua minggu|sebulan} belum selesai",
        "bikin KTP sudah {tiga bulan|setahun} belum jadi, katanya blanko habis",
        "antrean di Disdukcapil {panjang nian|dari subuh}, dilayani cuma sedikit",
        "urus KK dipersulit, {bolak-balik|disuruh datang lagi} terus",
        "akta kelahiran anak {belum terbit|salah nama} padahal berkas lengkap",
        "KTP-el {rusak|hilang} mau cetak ulang disuruh bayar",
        "blanko KTP kosong, warga cuma dikasih {surat keterangan|resi}",
        "pindah domisili {ribet|lama}, data tidak sinkron",
        "NIK tidak terdaftar, tidak bisa {daftar BPJS|terima bantuan}",
        "petugas Dukcapil {jutek|tidak ramah|main HP} pas melayani",
        "pelayanan jemput bola Disdukcapil tidak sampai ke desa kami",
        "aplikasi {online Dukcapil|pendaftaran} error terus tidak bisa daftar",
        "KIA anak tidak pernah {jadi|dicetak} sudah daftar lama",
        "data KK {salah|ganda} sudah lapor berkali-kali tidak dibetulkan",
        "akta kematian orang tua belum keluar, urus warisan jadi terhambat",
        "cetak KTP disuruh bayar {calo|orang dalam} biar cepat",
        "jaringan di kantor Dukcapil down terus, warga pulang dengan tangan kosong",
    ],
    "bansos": [
        "sudah mengajukan sebagai keluarga miskin tapi belum disetujui {dinsos|kelurahan}",
        "BPJS PBI ibu saya dinonaktifkan, mohon diaktifkan kembali lewat dinas sosial",
        "bantuan permakanan untuk lansia {tidak datang|berhenti} sejak {bulan lalu|lama}",
        "kami keluarga tidak mampu tapi tidak terdata sebagai penerima bantuan",
        "bansos PKH {tidak sampai|dipotong} ke warga miskin",
        "BLT dana desa {salah sasaran|dibagi ke keluarga kades}",
        "sudah terdaftar DTKS tapi {tidak pernah|belum sekalipun} dapat bantuan",
        "BPNT {beras|sembako} yang dibagikan {kurang|berkutu|busuk}",
        "orang mampu punya mobil malah dapat bansos, yang miskin tidak",
        "pendamping PKH {minta jatah|motong} uang bantuan",
        "kartu KKS {tidak bisa dipakai|saldo kosong} di e-warong",
        "nama kami dicoret dari penerima bantuan tanpa alasan",
        "bantuan sosial telat {tiga bulan|berbulan-bulan} tidak cair",
        "janda dan lansia tidak masuk data penerima bansos",
        "pembagian bantuan beras {ricuh|tidak adil} di kantor desa",
        "data penerima bansos tidak diperbarui, yang sudah meninggal masih terdaftar",
        "bantuan rumah tidak layak huni {tidak jelas|cuma janji}",
        "warga {korban banjir|terdampak} belum dapat bantuan sama sekali",
        "bansos disunat oknum, terima cuma {separuh|dua ratus ribu}",
        "PBI jaminan kesehatan dari dinsos dicabut, warga miskin bingung",
    ],
    "lingkungan": [
        "mohon pemangkasan pohon di depan rumah, {dahannya|rantingnya} sudah mengenai kabel",
        "pohon {mati kering|lapuk} rawan tumbang, mohon segera ditebang",
        "sampah hasil kerja bakti belum diangkut, mohon dikirim truk sampah",
        "saluran penuh sampah dan lumpur, mohon dibersihkan petugas kebersihan",
        "TPS penuh {sampai ke jalan|berhari-hari}, petugas tidak mengangkut",
        "sampah menumpuk {berhari-hari|seminggu} tidak diangkut, bau busuk",
        "limbah pabrik sawit dibuang ke sungai, ikan mati",
        "air sungai {hitam|berbusa|bau} karena limbah perusahaan",
        "asap dan debu pabrik bikin warga sesak napas",
        "TPS liar di pinggir jalan {penuh|meluber}, lalat di mana-mana",
        "warga buang sampah ke sungai, {petugas|DLH} diam saja",
        "bau {busuk|menyengat} dari pabrik sampai ke permukiman",
        "pohon besar {mau tumbang|rantingnya menjuntai ke kabel}, mohon dipangkas",
        "truk sampah jarang lewat, warga bakar sampah sendiri",
        "pencemaran sungai oleh {tambang pasir|perusahaan} dibiarkan",
        "tanggul perusahaan bikin aliran air warga terhambat dan kotor",
        "sampah pasar {dibuang sembarangan|tidak diurus} sampai ke jalan",
        "limbah {pabrik karet|PKS} bau nian, anak-anak sakit",
        "ikan di {danau|sungai} banyak mati mengambang, diduga keracunan limbah",
        "selokan penuh sampah plastik dan tidak pernah dibersihkan",
        "pohon {tumbang|roboh} menimpa rumah, belum dievakuasi petugas",
        "taman kota kotor dan tidak terawat, rumput tinggi",
    ],
    "bencana": [
        "banjir {setinggi lutut|sepinggang|sampai atap} merendam rumah warga",
        "kebakaran lahan gambut, asap {tebal|pekat} masuk rumah",
        "karhutla {meluas|belum padam}, anak-anak batuk-batuk",
        "rumah warga {ludes|hangus} terbakar, damkar telat datang",
        "angin puting beliung {merusak|menerbangkan} atap rumah warga",
        "banjir sudah {seminggu|dua minggu} belum surut, bantuan belum datang",
        "air sungai meluap, {sawah|kebun} warga terendam",
        "kabut asap bikin {jarak pandang|napas} terganggu, sekolah tetap masuk",
        "tanah longsor di tebing sungai, rumah warga {terancam|hanyut}",
        "pengungsi banjir {kekurangan makanan|tidur di tenda bocor}",
        "{api|titik api} muncul lagi di lahan dekat permukiman",
        "tanggul jebol, air masuk ke {desa|permukiman} tengah malam",
        "abrasi sungai makin parah, rumah di bantaran {mau runtuh|sudah ambruk}",
        "BPBD belum turun padahal banjir sudah {tiga hari|lama}",
        "hujan deras semalaman, {jalan desa|permukiman} tenggelam",
        "kebakaran {pasar|rumah} tadi malam, hidran tidak berfungsi",
        "darurat asap, ISPA meningkat, masker tidak dibagikan",
    ],
    "transportasi": [
        "traffic light di perempatan mati, {macet|hampir tabrakan}",
        "marka jalan pudar dan zebra cross tidak terlihat",
        "polisi tidur terlalu tinggi, motor warga sering jatuh",
        "halte bus {rusak|tidak ada atap}, penumpang kepanasan",
        "parkir liar di depan pasar bikin macet {tiap pagi|parah}",
        "jukir liar {narik|minta} uang parkir seenaknya",
        "truk {ODOL|kelebihan muatan|batubara} lewat jalan desa, jalan hancur",
        "lampu lalu lintas di simpang {mati|rusak} sudah seminggu",
        "angkutan umum ke kota {jarang|tidak ada lagi}, warga susah bepergian",
        "ongkos {speedboat|ketek|travel} naik sepihak tanpa pemberitahuan",
        "terminal {kumuh|sepi|tidak terurus}, banyak calo",
        "macet panjang di jalintim karena {truk mogok|perbaikan jalan}",
        "rambu lalu lintas {hilang|tertutup pohon} di tikungan tajam",
        "dermaga {rusak|licin}, penumpang perahu hampir jatuh",
        "truk sawit parkir di bahu jalan, {rawan kecelakaan|bikin sempit}",
        "pungutan retribusi parkir tanpa karcis",
        "mobil travel {ugal-ugalan|ngebut} di jalan lintas",
        "tidak ada zebra cross di depan sekolah, anak-anak susah nyeberang",
        "bus sekolah {tidak datang|rusak} lagi, murid jalan kaki",
        "truk angkutan perusahaan lewat siang hari, debu dan macet",
    ],
    "ketenagakerjaan": [
        "mohon info lowongan kerja untuk lulusan SMA, pengangguran banyak",
        "THR karyawan {tidak dibayar|dicicil} oleh perusahaan",
        "gaji buruh kebun {telat tiga bulan|belum dibayar}",
        "perusahaan sawit PHK sepihak {tanpa pesangon|puluhan karyawan}",
        "upah di bawah UMK, lembur tidak dibayar",
        "perusahaan lebih pilih pekerja luar daerah, warga lokal {tidak diterima|ditolak}",
        "karyawan {kontrak|harian} tidak didaftarkan BPJS Ketenagakerjaan",
        "bursa kerja cuma formalitas, lowongan sudah diisi orang dalam",
        "buruh PT {dipecat|dirumahkan} karena ikut demo",
        "THR tidak dibayar perusahaan, buruh kebun {mengadu|protes}",
        "pengurusan kartu kuning AK-1 {dipersulit|lama}",
        "pekerja pabrik {kecelakaan kerja|terluka} tidak ditanggung perusahaan",
        "outsourcing {potong gaji|tahan ijazah} karyawan",
        "pelatihan kerja dari dinas {tidak ada|tidak jelas} untuk pemuda desa",
        "perusahaan tambang tidak membayar upah sesuai kontrak",
        "warga transmigrasi belum dapat {lahan|jatah} yang dijanjikan",
        "tenaga honorer dirumahkan tanpa kejelasan nasib",
    ],
    "pungli_korupsi": [
        "petugas {minta uang|minta imbalan} untuk tanda tangan surat",
        "oknum {perangkat desa|petugas} minta uang {nominaluang|pelicin} buat urus surat",
        "dana desa {diselewengkan|tidak transparan}, pembangunan fiktif",
        "pungli di {jembatan timbang|pos} terhadap sopir truk",
        "kades {korupsi|makan} dana desa, warga minta diperiksa",
        "bikin sertifikat tanah PTSL dipungut {nominaluang|biaya} padahal gratis",
        "oknum ASN minta {setoran|uang} biar berkas cepat diproses",
        "proyek desa di-mark-up, {anggaran|kualitas} tidak sesuai",
        "seleksi perangkat desa {berbau suap|diatur|pakai uang}",
        "pungutan liar di pasar {tiap hari|berkedok retribusi}",
        "oknum polisi {minta uang damai|tilang pungli} di jalan",
        "BUMDes tidak jelas laporannya, uang warga {hilang|raib}",
        "masuk honorer harus bayar {puluhan juta|nominaluang} ke oknum",
        "bantuan ternak diselewengkan oleh oknum {kades|ketua kelompok}",
        "laporan pertanggungjawaban dana desa {tidak pernah diumumkan|dipalsukan}",
        "oknum pegawai kecamatan {minta fee|peras} pengusaha kecil",
    ],
    "pertanian": [
        "pupuk subsidi {langka|kosong} pas musim tanam",
        "harga karet anjlok, petani {menjerit|susah makan}",
        "harga TBS sawit {turun terus|dipermainkan tengkulak}",
        "irigasi {kering|rusak}, sawah petani tidak bisa ditanami",
        "hama {tikus|wereng|babi} menyerang padi, penyuluh tidak turun",
        "pupuk subsidi dijual di atas HET, kios {nakal|mainkan harga}",
        "kartu tani {tidak bisa dipakai|belum dibagi}, tidak bisa tebus pupuk",
        "bantuan bibit dan alsintan cuma buat kelompok tertentu",
        "sawah {gagal panen|puso} karena banjir, tidak ada ganti rugi",
        "penyuluh pertanian tidak pernah datang ke desa",
        "harga gabah {murah|jatuh} pas panen raya",
        "kebun warga diserobot perusahaan, petani tidak bisa berkebun",
        "ternak sapi kena {penyakit|PMK}, dokter hewan tidak ada",
        "pintu air {sawah|irigasi} rusak, air payau masuk ke sawah",
        "petani plasma sawit tidak {menerima hasil|dibayar} dari perusahaan",
    ],
    "ketertiban": [
        "petasan dan mercon tiap malam {mengganggu|bikin kaget} warga",
        "PKL berjualan di trotoar sampai pejalan kaki turun ke jalan",
        "PKL jualan di trotoar dan badan jalan, {macet|semrawut}",
        "judi {togel|sabung ayam|online} marak di kampung, aparat diam",
        "balap liar tiap malam minggu, {knalpot brong|bising} ganggu warga",
        "anak muda {mabuk-mabukan|pesta miras} di pinggir jalan",
        "tawuran antar {pemuda|kampung} lagi, warga resah",
        "warung remang-remang buka sampai subuh, {meresahkan|tempat maksiat}",
        "pencurian {motor|sawit|ternak} marak, ronda tidak jalan",
        "preman {malak|minta jatah} pedagang pasar",
        "orgen tunggal sampai subuh, {bising|ricuh} dan ada yang mabuk",
        "bangunan liar berdiri di bantaran sungai, Satpol PP diam saja",
        "begal {marak|beraksi lagi} di jalan sepi",
        "peredaran narkoba di kalangan remaja desa makin parah",
        "pengamen dan anak punk {mabuk|memaksa} di simpang",
        "arena sabung ayam dibuka terang-terangan dekat masjid",
        "penertiban PKL {tebang pilih|kasar}, lapak dirusak",
    ],
    "harga_kebutuhan": [
        "gas elpiji 3 kg langka, harga {tembus|sampai} {nominaluang|40 ribu}",
        "harga {beras|cabai|minyak goreng} naik tinggi nian",
        "antre BBM di SPBU {berjam-jam|sampai malam}, solar kosong",
        "pangkalan gas {jual di atas HET|cuma layani kenalan}",
        "minyak goreng {langka|mahal} di pasar",
        "harga sembako melonjak jelang lebaran, operasi pasar tidak ada",
        "pertalite {habis|kosong} di SPBU, pengecer jual mahal",
        "harga {gula|telur|bawang} di pasar tidak masuk akal",
        "gas melon {dioplos|isinya kurang}, pembeli dirugikan",
        "operasi pasar murah cuma sebentar, stok langsung habis",
        "timbangan pedagang pasar {curang|tidak ditera}",
        "harga ikan dan beras naik, penghasilan warga turun",
        "{agen|pangkalan} gas tutup terus, warga masak pakai kayu",
        "bensin eceran {mahal|dicampur air}",
        "harga daging {mahal|melambung} tidak terjangkau warga",
    ],
    "pelayanan_publik": [
        "surat pengantar nikah dari kelurahan {lama nian|tidak kunjung selesai}",
        "petugas kelurahan tidak ada di tempat saat jam pelayanan",
        "aplikasi layanan online kelurahan error, tidak bisa {login|ajukan surat}",
        "izin bangunan PBG sudah diajukan {berbulan-bulan|lama} belum ada kabar",
        "tagihan PBB {salah|tidak sesuai} luas tanah, mohon dikoreksi",
        "pelayanan di kantor {kecamatan|desa} lambat, pegawai {datang siang|tidak ada}",
        "urus surat di kantor desa {dipersulit|lama nian}, kades jarang di tempat",
        "izin usaha {berbelit-belit|lama} di {dinas|kantor perizinan}",
        "pegawai kantor {main HP|ngobrol} sementara warga antre",
        "kantor camat tutup pas jam kerja",
        "website {pemkab|layanan} tidak bisa diakses, informasi tidak jelas",
        "aduan ke {pemkab|dinas} tidak pernah direspon",
        "sinyal internet {hilang|lemot} di desa, pelayanan online tidak bisa",
        "surat keterangan domisili {disuruh bayar|tidak diproses}",
        "pegawai {ketus|tidak ramah|kasar} waktu melayani warga",
        "PBB {salah hitung|naik tinggi} dan petugas tidak mau jelaskan",
        "pelayanan mal pelayanan publik {sepi petugas|tutup sebelum jam}",
        "sertifikat tanah di BPN {bertahun-tahun|lama} tidak selesai",
        "tidak ada informasi jadwal pelayanan, warga bolak-balik",
        "kades tidak pernah adakan musyawarah, keputusan sepihak",
        "laporan warga ke kantor desa dicuekin {berbulan-bulan|terus}",
    ],
}

# Added after reading the Surabaya 2022 *development* set (never its text: our own wording, OKI
# register): domains and registers it showed the corpus lacked — job seekers and employment
# cards, wage/contract disputes at small employers, street vendors and noise, illegal buildings,
# village-office letters and permits, poverty-registration status (DTKS/PBI), child ID cards and
# data changes, flood reports by residents, levies by brokers. Merged into COMPLAINTS below.
MORE_COMPLAINTS: dict[str, list[str]] = {
    "infrastruktur": [
        "got depan rumah mampet, tiap hujan jalan {tergenang sebetis|jadi kolam}, mohon salurannya dibenahi",
        "tutup {got|saluran} di pinggir jalan {pecah|hilang}, sudah ada motor yang terperosok",
        "bekas galian {pipa|kabel} tidak ditutup rapi lagi, jalan jadi {bergelombang|berlubang}",
        "jalan lingkungan kami belum pernah diperbaiki sejak {dibangun|zaman dulu}, mohon diusulkan cor",
        "tiap hujan kampung kami banjir karena saluran {buntu|dangkal|tidak mengalir}, mohon salurannya dinormalisasi",
        "air got meluap masuk rumah kalau hujan, saluran perlu dikeruk dan dilebarkan",
        "genangan di jalan {berhari-hari|tidak surut-surut} karena gorong-gorong buntu",
        "jalan depan {sekolah|pasar|gang kami} banjir tiap hujan karena drainase tidak berfungsi",
        "baru hujan sebentar gang kami sudah banjir, gorong-gorongnya {kecil|tertimbun tanah}",
        "banjir di jalan tidak surut berjam-jam, rumah pompa dan saluran tidak jalan",
        "lampu PJU di {gang|jalan raya} padam sebagian sejak semalam, mohon diperbaiki",
        "tiang PJU {patah|miring} dan lampunya mati, jalan gelap gulita",
    ],
    "air_bersih": [
        "sudah bayar pasang baru PDAM tapi petugas belum juga datang {memasang|survei}",
        "tagihan air bulan ini {tidak masuk akal|lima kali lipat}, minta meteran dicek ulang",
    ],
    "kesehatan": [
        "obat untuk pasien isoman yang dijanjikan puskesmas tidak pernah {datang|diantar}",
        "minta surat keterangan sehat di puskesmas {dipersulit|disuruh balik besok}",
        "antre di poli RSUD {dari pagi|berjam-jam}, dokternya baru datang siang",
    ],
    "pendidikan": [
        "seragam gratis untuk siswa tidak mampu {tidak dibagi|tidak sampai} ke anak kami",
        "beasiswa mahasiswa dari pemkab {belum cair|tidak jelas} sampai semester berganti",
        "mau pindahkan anak ke sekolah lain {dipersulit|disuruh bayar} oleh sekolah lama",
    ],
    "adminduk": [
        "KIA anak sudah didaftarkan online {berbulan-bulan|lama nian} tapi belum dicetak",
        "ubah data {agama|status kawin|pekerjaan} di KK prosesnya {berbelit|lama nian}",
        "NIK kami {tidak ditemukan|tidak terbaca} di data Dukcapil, mau urus apa-apa jadi susah",
        "antrean online Disdukcapil kuotanya cepat habis, {daftar tengah malam|tiap hari coba} tetap tidak dapat",
        "akta yang sudah jadi salah ketik nama, pembetulannya disuruh {ulang dari awal|bawa berkas lagi}",
        "pindah datang dari luar kabupaten, KK baru belum terbit {sebulan|berminggu-minggu}",
    ],
    "bansos": [
        "kami sudah diusulkan masuk DTKS lewat desa, statusnya {belum diverifikasi|tidak berubah} sampai sekarang",
        "status keluarga miskin kami {tiba-tiba hilang|dicoret}, jadi tidak dapat keringanan apa pun",
        "BPJS PBI keluarga kami nonaktif karena dicoret dari DTKS, berobat jadi bayar sendiri",
        "mohon BPJS PBI diaktifkan lagi lewat dinsos, kami tidak sanggup bayar BPJS mandiri",
        "program bedah rumah RTLH di rumah kami {mangkrak|berhenti di tengah jalan}, tukangnya tidak datang lagi",
        "surat keterangan tidak mampu kami ditolak, padahal keluarga kami benar-benar susah",
        "bantuan modal usaha mikro yang dijanjikan {tidak cair|tidak ada kabarnya}",
        "dicek di situs bansos NIK kami {tercatat penerima|terdaftar} tapi uangnya tidak pernah ada",
        "saldo kartu bantuan {nol|kosong} waktu dicek di agen bank",
        "lansia sebatang kara di kampung kami belum pernah dapat bantuan apa pun",
        "suami sudah tidak bekerja, mohon keluarga kami dimasukkan ke data keluarga miskin",
        "kerja serabutan penghasilan tidak tetap, tapi kami tidak pernah terdata penerima bantuan",
        "sudah kumpul fotokopi KK dan KTP ke RT untuk pendataan keluarga miskin, tidak ada hasilnya",
        "sudah daftar {MBR|DTKS} lewat RT tapi status masih {proses|belum terdaftar} di aplikasi",
    ],
    "lingkungan": [
        "eceng gondok dan sampah menumpuk di sungai belakang rumah, aliran air jadi mampet",
        "septic tank tetangga {bocor|meluap}, bau tinja sampai ke rumah warga",
        "sampah di pinggir jalan {dibakar|dibuang} orang tiap malam, asapnya masuk rumah",
        "karung lumpur hasil kerja bakti bersihkan got belum diangkut {seminggu|berhari-hari}",
        "mohon bantuan truk untuk angkut sampah ranting hasil kerja bakti warga",
        "pohon depan rumah sudah {tinggi|rimbun} menutupi {kabel listrik|lampu PJU}, mohon perantingan",
    ],
    "bencana": [
        "sungai Komering meluap, rumah kami kebanjiran sampai {dapur|kamar tidur}",
        "rumah korban kebakaran di kampung kami belum ditangani, warga tidur di tenda darurat",
        "sungai meluap, warga mengungsi ke {masjid|sekolah} tapi tidak ada posko bantuan",
        "kebakaran {ruko|gudang|rumah} merembet, mobil damkar susah masuk gang",
        "banjir kiriman dari hulu merendam kampung, warga butuh perahu dan makanan",
    ],
    "transportasi": [
        "parkir liar di depan {minimarket|bank} padahal tertulis parkir gratis, jukir tetap narik",
        "angkot dan travel ngetem sembarangan di simpang, jalan jadi macet",
        "jalan kampung ditutup portal sepihak, kendaraan warga harus memutar jauh",
    ],
    "ketenagakerjaan": [
        "saya lulusan {SMA|SMK|D3} sudah {setahun|dua tahun} menganggur, mohon dibantu dapat kerja",
        "suami saya {kena PHK|dirumahkan} dari pabrik, sekarang tidak ada penghasilan, mohon info lowongan",
        "bikin kartu kuning di Disnaker {lama nian|disuruh bolak-balik}, padahal mau melamar kerja",
        "lowongan di perusahaan {sawit|pulp} katanya utamakan warga lokal, nyatanya orang luar semua",
        "BSU subsidi gaji tidak masuk padahal saya {karyawan tetap|terdaftar BPJS Ketenagakerjaan}",
        "pencairan JHT BPJS Ketenagakerjaan dipersulit, sudah {tiga kali|berkali-kali} bolak-balik",
        "kontrak kerja habis tapi {uang kompensasi|sisa gaji} tidak dibayar perusahaan",
        "ijazah asli ditahan {perusahaan|toko} tempat kerja, tidak bisa melamar ke tempat lain",
        "gaji {karyawan toko|pegawai warung|pekerja bangunan} dibayar jauh di bawah UMK dan sering telat",
        "pelatihan kerja di BLK {penuh terus|tidak pernah dibuka} untuk pemuda desa",
        "mohon dibantu pekerjaan apa saja, {jadi tukang sapu|jadi satpam} pun mau, saya tulang punggung keluarga",
        "kerja {harian lepas|borongan} di kebun tidak dapat BPJS, kalau celaka tanggung sendiri",
        "daftar kerja lewat aplikasi Disnaker error terus, biodata tidak bisa disimpan",
    ],
    "pungli_korupsi": [
        "pungutan {uang kebersihan|uang keamanan} di pasar tanpa karcis resmi, uangnya entah ke mana",
        "pegawai minta uang rokok dulu baru mau memproses berkas warga",
        "calo bebas keluar masuk kantor {kecamatan|Samsat}, petugas main mata",
        "dana bantuan kelompok dipotong oknum dengan alasan biaya administrasi",
        "penerimaan perangkat desa diduga pakai uang pelicin, yang lulus keluarga pejabat",
    ],
    "ketertiban": [
        "pedagang kaki lima {jualan di mulut gang|buka lapak di badan jalan}, warga susah keluar masuk",
        "lapak pedagang di depan pasar makin melebar ke jalan, {tiap pagi|tiap sore} semrawut",
        "warung liar berdiri di atas {saluran air|siring|bahu jalan}, mohon ditertibkan",
        "bangunan liar di {tanah pemkab|pinggir sungai|bahu jalan} makin banyak, Satpol PP tidak bertindak",
        "anak muda {nongkrong|begadang} sampai subuh pakai {sound system|musik keras}, warga tidak bisa tidur",
        "warung kopi buka sampai subuh, {berisik nian|ramai} dan jadi tempat mabuk",
        "anak-anak main petasan di dekat rumah warga, bahaya bisa kebakaran",
        "{gelandangan|pengemis|anak jalanan} berkeliaran di simpang lampu merah, mohon ditertibkan",
        "hajatan menutup jalan dan musiknya {sampai subuh|keras nian} tanpa izin",
    ],
    "harga_kebutuhan": [
        "ada yang menimbun {minyak goreng|gas melon} di rumahnya, di warung jadi kosong",
        "harga di operasi pasar ternyata {sama mahal|lebih mahal} dari harga warung",
    ],
    "pelayanan_publik": [
        "urus surat keterangan ahli waris di kantor desa {lama nian|disuruh bolak-balik}",
        "surat keterangan domisili usaha {tidak kunjung jadi|dipersulit} di kelurahan",
        "PBG rumah kami {diajukan setahun|berbulan-bulan} belum terbit, padahal retribusi sudah dibayar",
        "daftar rusun untuk warga berpenghasilan rendah sejak lama, tidak ada kabar sama sekali",
        "SPPT PBB {tidak sampai|salah nama|salah alamat}, mau bayar jadi bingung",
        "akun aplikasi layanan pemkab tidak bisa masuk, {kode OTP tidak datang|disuruh daftar ulang}",
        "petugas loket kecamatan {tidak ada|istirahat sebelum waktunya}, warga menunggu lama",
        "berkas izin di kantor perizinan tidak jelas statusnya, ditanya tidak dijawab",
        "surat pengantar dari kelurahan ditolak di dinas, disuruh ulang dari awal",
        "nomor pengaduan pemkab tidak pernah diangkat, laporan kami tidak ditanggapi",
        "surat keterangan belum menikah dari desa {dipersulit|lama}, padahal untuk syarat kerja",
        "sewa rusunawa {naik sepihak|ditagih dobel} dan pengelolanya tidak mau diajak bicara",
        "unit rusun banyak yang kosong tapi pendaftar lama tidak pernah dipanggil",
    ],
}
for _topic, _extra in MORE_COMPLAINTS.items():
    COMPLAINTS[_topic].extend(_extra)

GOOD: dict[str, list[str]] = {
    "infrastruktur": [
        "perbaikan jalan poros {place} sudah selesai, mulus sekarang",
        "pembangunan jembatan baru di {place} mulai dikerjakan",
        "jalan desa di {place} sudah dicor, terima kasih pak bupati",
        "PJU baru terpasang di {place}, malam jadi terang",
    ],
    "air_bersih": [
        "air PDAM di {place} sudah lancar lagi, terima kasih",
        "PDAM Tirta Agung tambah jaringan pipa ke {place}",
        "pemasangan sambungan air gratis untuk warga {place}",
    ],
    "listrik": [
        "PLN jadwalkan pemeliharaan jaringan di {place} besok pagi",
        "listrik masuk desa di {place} sudah menyala, alhamdulillah",
        "petugas PLN cepat tanggap perbaiki gangguan di {place}",
    ],
    "kesehatan": [
        "posyandu di {place} ramai, imunisasi balita berjalan lancar",
        "RSUD Kayuagung buka layanan poli baru",
        "pelayanan puskesmas {place} cepat dan ramah, mantap",
        "fogging serentak dilakukan di {place} cegah DBD",
    ],
    "pendidikan": [
        "siswa SD di {place} juara lomba cerdas cermat tingkat provinsi",
        "pendaftaran PPDB dibuka mulai minggu depan",
        "ruang kelas baru SD di {place} diresmikan",
    ],
    "adminduk": [
        "Disdukcapil jemput bola rekam KTP di {place} hari ini",
        "cetak KTP di Disdukcapil sekarang cepat, sepuluh menit jadi",
        "pelayanan akta kelahiran gratis di {place}",
        "pendaftaran KIA untuk anak bisa lewat kantor desa {place}",
    ],
    "bansos": [
        "penyaluran BLT dana desa di {place} berjalan tertib",
        "Dinsos salurkan bantuan sembako untuk lansia di {place}",
        "bantuan PKH tahap dua cair minggu ini",
        "pemutakhiran data keluarga miskin dibuka di kantor desa {place}",
    ],
    "lingkungan": [
        "gotong royong bersihkan sungai di {place}, mantap warga",
        "DLH tambah armada truk sampah untuk {place}",
        "penanaman seribu pohon di {place} bersama pelajar",
    ],
    "bencana": [
        "BPBD gelar apel siaga karhutla di {place}",
        "banjir di {place} mulai surut, warga kembali ke rumah",
        "simulasi penanggulangan bencana digelar di {place}",
    ],
    "transportasi": [
        "Dishub pasang rambu baru di simpang {place}",
        "rute angkutan pedesaan ke {place} dibuka lagi",
        "penataan parkir di pasar {place} mulai diberlakukan",
    ],
    "ketenagakerjaan": [
        "job fair dibuka di Kayuagung, ratusan lowongan tersedia",
        "pelatihan kerja gratis untuk pemuda {place}",
        "perusahaan di {place} rekrut tenaga kerja lokal",
        "Disnaker buka layanan kartu kuning di {place}, bisa diurus dalam sehari",
    ],
    "pungli_korupsi": [
        "Inspektorat sosialisasi pencegahan pungli di {place}",
        "saber pungli buka layanan pengaduan untuk warga",
        "kades {place} umumkan APBDes di papan informasi, transparan",
    ],
    "pertanian": [
        "panen raya padi di {place} hasilnya melimpah",
        "penyaluran pupuk subsidi di {place} lancar bulan ini",
        "petani {place} dapat bantuan bibit unggul",
    ],
    "ketertiban": [
        "Satpol PP gelar patroli malam di {place}, kondisi aman",
        "ronda malam di {place} aktif lagi, warga tenang",
        "penertiban PKL di {place} berjalan tertib dan humanis",
        "pedagang kaki lima di {place} sudah pindah ke lapak baru, jalan jadi lega",
    ],
    "harga_kebutuhan": [
        "operasi pasar murah digelar di {place} hari ini",
        "harga sembako di pasar {place} stabil jelang puasa",
        "stok elpiji 3 kg di {place} aman kata agen",
    ],
    "pelayanan_publik": [
        "pelayanan di kantor camat {place} cepat dan ramah",
        "punya keluhan soal layanan publik? sampaikan lewat SP4N-LAPOR atau WA pengaduan",
        "sosialisasi aplikasi pengaduan masyarakat digelar di {place}",
        "pengaduan warga {place} soal {jalan rusak|air PDAM|lampu jalan} sudah ditindaklanjuti, terima kasih",
        "kanal pengaduan buka 24 jam, laporkan keluhan Anda disertai foto dan lokasi",
        "Diskominfo tanggapi laporan warga {place} dengan cepat, masalah langsung diselesaikan",
        "mal pelayanan publik Kayuagung buka sampai sore",
        "kantor desa {place} sekarang pakai layanan online",
        "pembayaran PBB warga {place} sekarang bisa lewat aplikasi dan minimarket",
    ],
}

CHATTER = [
    "Selamat pagi {place}, cuaca cerah hari ini",
    "Ngopi sore di pinggir sungai {place}, lemak nian",
    "Ada yang tau warung pindang enak di {place}?",
    "Ramai nian lomba bidar di {place} tadi siang",
    "Pemandangan sunset di {place} cantik nian",
    "Selamat ulang tahun Kabupaten OKI, Bumi Bende Seguguk makin maju",
    "Kuliner khas {place}: pindang patin, lemak nian",
    "Jalan-jalan ke {place} liburan kemarin, seru",
    "Siapa yang dari {place}? absen dulu",
    "Semoga hujan turun di {place}, panas nian hari ini",
    "Hari ini pasar kalangan di {place} ramai pembeli",
    "Lagi di {place}, sinyal bagus, alhamdulillah",
    "Pelantikan pejabat baru di lingkungan Pemkab OKI",
    "Bupati OKI hadiri peringatan hari jadi desa di {place}",
    "Tim sepak bola {place} menang 3-1 di turnamen antar kecamatan",
    "Mohon doanya, keluarga kami di {place} sedang berduka",
]

# Relevance confusers: other meanings of "OKI" (never about the regency).
CONFUSER_TEXTS = [
    "Ceramah Ustazah Oki Setiana Dewi bikin adem hati",
    "Kajian Oki Setiana Dewi tadi malam bahas sabar dalam ujian",
    "Oki Setiana Dewi dan Ria Ricis liburan bareng keluarga",
    "MasyaAllah tausiyah ustadzah Oki hari ini bikin nangis",
    "Buku terbaru Oki Setiana Dewi sudah bisa dipesan",
    "KTT OKI kecam serangan Israel ke Gaza",
    "Negara anggota OKI gelar sidang darurat soal Palestina",
    "Sekjen OKI serukan gencatan senjata di Gaza",
    "Menlu RI hadiri pertemuan OKI di Jeddah",
    "OKI minta PBB bertindak atas krisis kemanusiaan di Palestina",
    "Indonesia dorong OKI bersatu bela Palestina",
    "Printer OKI C332 paper jam terus, ada yang bisa servis?",
    "Jual toner printer OKI murah, original",
    "Printer dot matrix OKI Microline masih awet buat nota",
    "oki doki siap bos",
    "oki siap meluncur",
    "Oki Rengga stand up comedy lucu nian",
    "Liburan ke Oki Island Jepang, indah banget",
    "Bang Oki jadi nikah kapan?",
    "oki deh kalau gitu, nanti kabari lagi",
]

NEIGHBOUR_PLACES = [
    "Baturaja OKU",
    "OKU Timur",
    "Martapura OKU Timur",
    "Muaradua OKU Selatan",
    "Belitang OKU Timur",
    "Indralaya Ogan Ilir",
    "Tanjung Raja Ogan Ilir",
    "Pemulutan Ogan Ilir",
    "Mesuji Lampung",
    "Kabupaten Mesuji Lampung",
    "Tulang Bawang Lampung",
    "Banyuasin",
    "Muara Enim",
    "Prabumulih",
    "Lahat",
]

# ---------------------------------------------------------------------------------------------
# Frames. {p} is the problem phrase, {place} an OKI place mention, {oki} an OKI signal
# (account, hashtag, regency name), {plea} a request, {emo} emoji/feeling, {dur} a duration.
# ---------------------------------------------------------------------------------------------
COMPLAINT_FRAMES = [
    "{p} {place}, {plea} {emo}",
    "Min {oki} {p} {place}, {plea}",
    "{place} {p}. {dur} begini, dak ado yg peduli {emo}",
    "Tolong lah pak bupati, {p} {place}. {plea}",
    "Lapor {oki}: {p} {place} {emo}",
    "Cak mano ini {oki}, {p} {place}?? {emo}",
    "Warga {place} mengeluh {p}. {plea}",
    "{dur} {p} {place}, pemerintah kemano? {emo} {tags}",
    "Sudah lapor berkali-kali, {p} {place}. {plea}",
    "Miris nian, {p} {place} {emo} {tags}",
    "Assalamualaikum admin {oki}, izin menyampaikan keluhan: {p} {place}. {plea}",
    "kapan diperbaiki?? {p} {place} {emo}",
    "Keluhan warga {place}: {p}. Mohon ditindaklanjuti {oki}",
    "{p} {place}... {dur} dak ado perubahan {emo}",
    "Parah nian {oki}, {p} {place}",
    "Viralkan! {p} {place} {tags}",
    "Kami warga {place} kecewa, {p}. {plea}",
    "{p}, {place}. Ini sudah {dur2}, {plea} {emo}",
    "Mohon perhatian {oki}, {p} {place}",
    "Ngapo dak diurus? {p} {place} {emo}",
    "Jangan cuma janji pas kampanye, {p} {place} {tags}",
    "Tolooong {oki}, {p} {place} {emo}",
    "Capek nian kami, {p} {place}. {plea}",
    "{place} darurat! {p} {emo}",
    "Bapak ibu pejabat {oki} coba jingok {place}, {p}",
    "Selamat siang Bapak/Ibu {oki}, mohon izin melaporkan {p} {place}. Terima kasih",
    "Dengan hormat, kami warga {place} menyampaikan bahwa {p}. Mohon tindak lanjutnya",
    "Mohon bantuannya Pak/Bu, {p} {place}, sudah {dur2} belum ada penanganan",
    "Warga {place} Keluhkan {p}, Minta {oki} Turun Tangan",
    "Viral, {p} {place}, warga minta segera ditangani",
    "{place}: {p}. Warga sudah lapor tapi belum ada tindakan",
    "{p} {place}",
    "Min {oki} {place} {p}",
    "{place}, {p} {emo}",
    # Registers the 2022 development set showed we lacked: long letters with a self-introduction,
    # a question that is really a complaint, a bare fragment, a chronology, a follow-up.
    "Selamat pagi Bapak/Ibu {oki}. Perkenalkan saya {who} tinggal {place} RT {rt} RW {rw}. {ctx} "
    "Saya mau menyampaikan keluhan, {p}. Mohon bantuan dan tindak lanjutnya, terima kasih",
    "Assalamualaikum Bapak Bupati, mohon maaf mengganggu waktunya. Saya {who} dari {place}. {p}. {ctx} "
    "Besar harapan kami ada jalan keluarnya. Wassalam",
    "Yth. {oki}, dengan ini kami sampaikan laporan warga {place}: {p}. {ctx} "
    "Atas perhatiannya kami ucapkan terima kasih",
    "mau tanya min {oki}, kenapa {p}? {place} {emo}",
    "Izin bertanya, {p} {place}, harus lapor ke mana ya? {ctx}",
    "tolong {p} {place}",
    "{p} {place}!!! {emo}",
    "Kronologinya begini: {ctx} {p}. Lokasinya {place}. {dur} begini terus, mohon dibantu",
    "Menindaklanjuti laporan saya kemarin, {p} {place}. {ctx} Sampai sekarang belum ada kejelasan",
    "Saya sudah {dur2} menunggu, {p}. Alamat {place} RT {rt}, nomor WA terlampir",
]

# Topic-neutral sentences real letters carry around the problem (so the model learns to look past them).
CONTEXTS = [
    "Sudah lapor ke RT dan kelurahan tapi belum ada tanggapan.",
    "Saya sudah coba telepon berkali-kali tapi tidak diangkat.",
    "Foto dan video terlampir.",
    "Mohon maaf kalau salah alamat.",
    "Sebelumnya terima kasih atas waktunya.",
    "Saya warga asli sini dari kecil.",
    "Sudah dua kali saya kirim laporan lewat aplikasi.",
    "Tolong jangan dilempar ke sana kemari lagi.",
    "Kami sudah musyawarah dengan warga sekitar.",
    "",
    "",
]
WRITERS = ["ibu rumah tangga", "warga biasa", "pensiunan", "pedagang kecil", "ketua RT", "mahasiswa", "bapak dua anak"]

NONCOMPLAINT_FRAMES = [
    "Alhamdulillah {g} {emo_good}",
    "[INFO] {g}. {tags}",
    "{oki}: {g}",
    "Terima kasih {oki}, {g} {emo_good}",
    "Kabar baik untuk warga, {g}",
    "Mantap {oki}! {g} {emo_good}",
    "Pengumuman: {g}. Info lengkap hubungi kantor desa",
    "Hari ini {g} {tags}",
]

QUESTION_FRAMES = [
    "Mau tanya {oki}, jadwal {q} di {place} kapan ya?",
    "Ada yang tau cara {q} di {place}?",
    "Izin bertanya min {oki}, syarat {q} apa saja?",
    "Min {oki}, {q} di {place} sekarang bisa online belum?",
]
QUESTION_TOPICS = {
    "adminduk": ["bikin KTP", "urus akta kelahiran", "pindah KK"],
    "pendidikan": ["daftar PPDB", "pendaftaran sekolah", "beasiswa"],
    "kesehatan": ["imunisasi", "daftar BPJS", "vaksin"],
    "bansos": ["daftar DTKS", "pencairan PKH"],
    "pertanian": ["tebus pupuk subsidi", "daftar kartu tani"],
    "ketenagakerjaan": ["bikin kartu kuning", "daftar job fair"],
    "air_bersih": ["pasang PDAM baru"],
    "listrik": ["pasang listrik baru"],
    "pelayanan_publik": ["urus izin usaha", "bayar PBB"],
}

PLEAS = [
    "mohon segera diperbaiki",
    "tolong ditindaklanjuti",
    "kapan diperbaiki pak?",
    "mohon perhatiannya",
    "tolong jingok kami",
    "mohon bantuannya",
    "segera turun ke lapangan pak",
    "kami butuh solusi",
    "jangan diam saja",
    "tolong nian",
    "mohon ditertibkan",
    "kagek lah nunggu viral baru diurus",
    "cepat ditangani",
    "kami tunggu tindakan nyata",
]
EMO_BAD = ["😡", "😡😡", "😭", "🙏", "😤", "🤬", "😢🙏", "💔", "", "", "", "!!!", "??", "🙄"]
EMO_GOOD = ["👍", "🙏", "😍", "👏👏", "❤️", "", "", "💪"]
DURATIONS = [
    "Sudah sebulan",
    "Dari tahun lalu",
    "Berbulan-bulan",
    "Sudah lamo nian",
    "Dua minggu",
    "Bertahun-tahun",
    "Sudah tigo hari",
    "Dari zaman bupati lama",
]
TAGS = [
    "#OKI",
    "#KabOKI",
    "#OganKomeringIlir",
    "#Kayuagung",
    "#OKIMaju",
    "#JalanRusak",
    "#Viral",
    "#SumselViral",
    "",
    "",
    "",
]
OKI_SIGNALS = [
    "@pemkaboki",
    "Pemkab OKI",
    "@diskominfo_oki",
    "Kab. OKI",
    "pak Bupati OKI",
    "#OKI",
    "Kabupaten OKI",
    "Pemda OKI",
    "@humaspemkaboki",
    "Ogan Komering Ilir",
    "",
]


WEAK_KECAMATAN = {"Mesuji", "Tanjung Lubuk", "Pedamaran", "Lempuing"}
"""Kecamatan drawn as "weak" places (this drives the random stream, so the texts stay as they were)."""
WEAK_ALONE = frozenset(
    kec
    for kec in WEAK_KECAMATAN
    if any(e.kind == "kecamatan" and e.strength == "weak" for e in get_gazetteer().index[tuple(normalise(kec).split())])
)
"""Of those, the names that are not OKI's alone under the gazetteer's place-weight rule (names shared
with a regency or kecamatan elsewhere, like Mesuji): only these make a post without a second OKI
signal not relevant. Pedamaran, Tanjung Lubuk and Lempuing are OKI's (their only namesakes are one
village each)."""


@dataclass(frozen=True)
class Place:
    mention: str
    kecamatan: str | None
    desa: str | None
    strength: str  # "strong", "place", "weak"


def _pick(rng: random.Random, text: str) -> str:
    """Resolve {a|b|c} alternatives inside a phrase."""
    out = []
    i = 0
    while i < len(text):
        if text[i] == "{" and "|" in text[i : text.index("}", i)]:
            j = text.index("}", i)
            out.append(rng.choice(text[i + 1 : j].split("|")))
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    k = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:k] + word[k + 1 :]
    if kind < 0.7:
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    return word[:k] + word[k] + word[k:]


def _style(rng: random.Random, text: str) -> str:
    """Social-media noise: case, elongation, abbreviations, the odd typo."""
    swaps = {
        " tidak ": [" gak ", " dak ", " tdk ", " ga ", " idak "],
        " yang ": [" yg "],
        " sudah ": [" udh ", " sdh ", " dah "],
        " sekali": [" nian", " bgt"],
        " sampai ": [" sampe ", " smpe "],
        " dengan ": [" dgn "],
        " tolong ": [" tlg "],
        " belum ": [" blm ", " belom "],
        " bisa ": [" pacak ", " bs "],
        " kapan ": [" kpn "],
        " jalan ": [" jln ", " jl "],
        " desa ": [" ds ", " dusun "],
        " kecamatan ": [" kec ", " kec. "],
        " banget": [" bgt", " bangettt"],
        " parah": [" parahhh", " parah"],
        " bagaimana": [" cak mano", " gmn"],
    }
    padded = f" {text} "
    for src, alts in swaps.items():
        if src in padded and rng.random() < 0.5:
            padded = padded.replace(src, rng.choice(alts))
    text = padded.strip()
    words = text.split(" ")
    if rng.random() < 0.25 and len(words) > 4:
        k = rng.randrange(len(words))
        words[k] = _typo(rng, words[k])
    text = " ".join(words)
    r = rng.random()
    if r < 0.15:
        text = text.lower()
    elif r < 0.2:
        text = text.upper()
    return text


class Places:
    """OKI place mentions in the ways people write them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        with (HERE / "oki_wilayah.csv").open(encoding="utf-8") as table:
            rows = list(csv.DictReader(table))
        self.desa = [(r["nama"], r["nama_kecamatan"]) for r in rows if r["level"] == "desa_kelurahan"]
        counts: dict[str, int] = {}
        for name, _ in self.desa:
            counts[name.lower()] = counts.get(name.lower(), 0) + 1
        self.desa = [(n, k) for n, k in self.desa if counts[n.lower()] == 1]
        self.kec = [r["nama"] for r in rows if r["level"] == "kecamatan"]
        self.alias = {
            "Kayu Agung": ["Kayuagung", "Kayu Agung", "Kota Kayuagung"],
            "Sirah Pulau Padang": ["SP Padang", "Sirah Pulau Padang", "S.P. Padang"],
            "Pangkalan Lampam": ["Pangkalan Lampam", "Pangkalan Lapam", "P. Lampam"],
            "Tulung Selapan": ["Tulung Selapan", "Tl. Selapan", "Tulungselapan"],
            "Tanjung Lubuk": ["Tanjung Lubuk", "Tj. Lubuk"],
            "Teluk Gelam": ["Teluk Gelam", "Tlk. Gelam"],
            "Sungai Menang": ["Sungai Menang", "Sei Menang"],
            "Pedamaran Timur": ["Pedamaran Timur", "Pedamaran Tim."],
        }

    def kec_name(self, kec: str) -> str:
        return self.rng.choice(self.alias.get(kec, [kec]))

    def pick(self) -> Place:
        rng = self.rng
        r = rng.random()
        kec = rng.choice(self.kec)
        if r < 0.30:
            desa, kec = rng.choice(self.desa)
            fmt = rng.choice(
                ["di Desa {d} Kec. {k}", "di Ds. {d}, {k}", "Desa {d} Kecamatan {k}", "di {d} kec {k}", "dusun {d} {k}"]
            )
            name = _typo(rng, desa) if rng.random() < 0.12 and len(desa) > 6 and " " not in desa else desa
            return Place(fmt.format(d=name, k=self.kec_name(kec)), kec, desa, "place")
        if r < 0.48:
            desa, kec = rng.choice(self.desa)
            fmt = rng.choice(["di Desa {d}", "Desa {d}", "di desa {d} OKI", "warga Desa {d}"])
            return Place(fmt.format(d=desa), kec, desa, "place")
        if r < 0.80:
            fmt = rng.choice(["di Kecamatan {k}", "Kec. {k}", "di {k}", "di {k} OKI", "{k}", "kec {k} kab OKI"])
            # Names that also exist elsewhere (Mesuji in Lampung, ...) are only weak evidence alone.
            weak = kec in WEAK_KECAMATAN and "OKI" not in fmt
            return Place(fmt.format(k=self.kec_name(kec)), kec, None, "weak" if weak else "place")
        if r < 0.90:
            mention = rng.choice(
                ["di Kayuagung", "Kota Kayuagung", "di Kabupaten OKI", "di OKI", "di Ogan Komering Ilir"]
            )
            return Place(mention, "Kayu Agung" if "Kayuagung" in mention else None, None, "strong")
        return Place("", None, None, "none")


def _fill_oki(rng: random.Random, place: Place) -> str:
    # Posts with a weak or no place get an OKI signal most of the time; the rest teach that a
    # weak name alone is not enough.
    if place.strength in {"place", "strong"} or rng.random() < 0.3:
        return rng.choice(OKI_SIGNALS)
    return rng.choice([s for s in OKI_SIGNALS if s and s != "#OKI"])


_SIGNALS = (
    "pemkab oki",
    "kab. oki",
    "kabupaten oki",
    "bupati oki",
    "@pemkaboki",
    "@diskominfo_oki",
    "pemda oki",
    "ogan komering ilir",
    "kayuagung",
    "@humaspemkaboki",
    "#kaboki",
    "#okimaju",
    "#ogankomeringilir",
    " oki ",
    " oki,",
    " oki.",
)


def _letter_slots(rng: random.Random) -> dict[str, str]:
    """The slots of the letter-style frames (drawn for every frame so the random stream does not depend on it)."""
    return {
        "rt": f"{rng.randint(1, 12):02d}",
        "rw": f"{rng.randint(1, 6):02d}",
        "ctx": rng.choice(CONTEXTS),
        "who": rng.choice(WRITERS),
    }


def _relevant(text: str, place: Place) -> bool:
    """The labelling rule: an OKI place, or any second OKI signal; '#OKI' or a weak name alone is not enough."""
    if place.strength in {"place", "strong"}:
        return True
    if place.strength == "weak" and place.kecamatan not in WEAK_ALONE:
        return True
    low = f" {text.lower()} "
    return any(s in low for s in _SIGNALS)


def build(seed: int = SEED) -> list[dict[str, object]]:
    """All corpus rows (deterministic for a seed)."""
    rng = random.Random(seed)
    places = Places(rng)
    rows: list[dict[str, object]] = []
    held_frames = set(rng.sample(range(len(COMPLAINT_FRAMES)), k=len(COMPLAINT_FRAMES) // 5))
    held_nc_frames = set(rng.sample(range(len(NONCOMPLAINT_FRAMES)), k=2))
    held_phr: dict[str, set[int]] = {
        t: set(rng.sample(range(len(ps)), k=max(3, len(ps) // 5))) for t, ps in COMPLAINTS.items()
    }

    def add(
        text: str,
        relevant: bool,
        complaint: bool | None,
        topic: str | None,
        place: Place | None,
        template: str,
        test: bool,
    ) -> None:
        rows.append(
            {
                "id": f"c{len(rows):05d}",
                "text": text,
                "relevant": relevant,
                "is_complaint": complaint,
                "topic": topic,
                "kecamatan": place.kecamatan if place and relevant else None,
                "desa": place.desa if place and relevant else None,
                "template": template,
                "split": "test" if test else "train",
            }
        )

    def clean(text: str) -> str:
        return " ".join(text.replace(" ,", ",").replace(" .", ".").split())

    for topic, phrases in COMPLAINTS.items():
        for k in range(COMPLAINTS_PER_TOPIC):
            pi = k % len(phrases)
            fi = rng.randrange(len(COMPLAINT_FRAMES))
            place = places.pick()
            p = _style(rng, _pick(rng, phrases[pi]))
            text = COMPLAINT_FRAMES[fi].format(
                p=p,
                place=place.mention,
                oki=_fill_oki(rng, place),
                plea=rng.choice(PLEAS),
                emo=rng.choice(EMO_BAD),
                dur=rng.choice(DURATIONS),
                dur2=rng.choice(DURATIONS).lower(),
                tags=rng.choice(TAGS),
                **_letter_slots(rng),
            )
            text = clean(text)
            rel = _relevant(text, place)
            add(text, rel, True, topic, place, f"{topic}/p{pi}/f{fi}", pi in held_phr[topic] or fi in held_frames)
        # The same problems next door: complaints, right topic, but not about OKI.
        for _k in range(14):
            pi = rng.randrange(len(phrases))
            fi = rng.randrange(len(COMPLAINT_FRAMES))
            where = rng.choice(NEIGHBOUR_PLACES)
            text = COMPLAINT_FRAMES[fi].format(
                p=_style(rng, _pick(rng, phrases[pi])),
                place=f"di {where}",
                oki="",
                plea=rng.choice(PLEAS),
                emo=rng.choice(EMO_BAD),
                dur=rng.choice(DURATIONS),
                dur2="lama",
                tags="",
                **_letter_slots(rng),
            )
            add(
                clean(text),
                False,
                True,
                topic,
                None,
                f"{topic}/p{pi}/f{fi}/nb",
                pi in held_phr[topic] or fi in held_frames,
            )
        goods = GOOD[topic]
        for k in range(GOOD_PER_TOPIC):
            gi = k % len(goods)
            fi = rng.randrange(len(NONCOMPLAINT_FRAMES))
            place = places.pick()
            if place.strength == "none":
                place = Place("Kayuagung", "Kayu Agung", None, "strong")
            if "{place}" not in goods[gi]:
                place = Place("", None, None, "none")
            g = _pick(rng, goods[gi]).format(place=place.mention.removeprefix("di ").strip())
            text = NONCOMPLAINT_FRAMES[fi].format(
                g=g, oki=_fill_oki(rng, place), tags=rng.choice(TAGS), emo_good=rng.choice(EMO_GOOD)
            )
            text = clean(_style(rng, text))
            add(
                text,
                _relevant(text, place) or "kayuagung" in text.lower(),
                False,
                topic,
                place,
                f"{topic}/g{gi}/n{fi}",
                gi == 0 or fi in held_nc_frames,
            )
    for topic, qs in QUESTION_TOPICS.items():
        for k in range(10):
            qi = k % len(qs)
            fi = rng.randrange(len(QUESTION_FRAMES))
            place = places.pick()
            if place.strength == "none":
                place = Place("Kayuagung", "Kayu Agung", None, "strong")
            if "{place}" not in QUESTION_FRAMES[fi]:
                place = Place("", None, None, "none")
            text = QUESTION_FRAMES[fi].format(
                q=qs[qi], place=place.mention.removeprefix("di ").strip(), oki=_fill_oki(rng, place)
            )
            text = clean(_style(rng, text))
            add(text, _relevant(text, place), False, topic, place, f"{topic}/q{qi}/f{fi}", fi == 2)
    for k in range(260):
        ci = k % len(CHATTER)
        place = places.pick()
        if place.strength == "none":
            place = Place("Kayuagung", "Kayu Agung", None, "strong")
        if "{place}" not in CHATTER[ci]:
            place = Place("", None, None, "none")
        text = CHATTER[ci].format(place=place.mention.removeprefix("di ").strip())
        text = clean(_style(rng, text) + " " + rng.choice(EMO_GOOD + TAGS))
        add(text, _relevant(text, place), False, None, place, f"chatter/{ci}", ci % 5 == 0)
    for k in range(400):
        ci = k % len(CONFUSER_TEXTS)
        text = CONFUSER_TEXTS[ci]
        if rng.random() < 0.5:
            text = text + " " + rng.choice(["#OKI", "😍", "🙏", "", "#Palestina", "👍"])
        add(clean(_style(rng, text)), False, False, None, None, f"confuser/{ci}", ci % 5 == 0)
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    n_test = sum(1 for r in rows if r["split"] == "test")
    print(f"wrote {len(rows)} rows ({n_test} held out by template) to {OUT}")


if __name__ == "__main__":
    main()
